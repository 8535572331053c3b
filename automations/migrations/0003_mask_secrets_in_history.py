"""History rows written before secrets were masked in them: mask their step configs and snapshots."""
from django.db import migrations


def mask_existing_history(apps, schema_editor):
    from automations.secrets import mask_history_record

    for name, field in (("HistoricalActionStep", "config"), ("HistoricalAutomationVersion", "snapshot")):
        model = apps.get_model("automations", name)
        for row in model.objects.exclude(**{f"{field}__isnull": True}).iterator():
            before = getattr(row, field)
            mask_history_record(model, history_instance=row)
            if getattr(row, field) != before:
                row.save(update_fields=[field])


class Migration(migrations.Migration):
    dependencies = [("automations", "0002_secret")]
    operations = [migrations.RunPython(mask_existing_history, migrations.RunPython.noop)]
