import django.db.models.deletion
from django.db import migrations, models


def rules_of_activated_versions(apps, schema_editor):
    """The rules of versions activated before the table existed (their exit_on is frozen)."""
    AutomationVersion = apps.get_model("automations", "AutomationVersion")
    ExitRule = apps.get_model("automations", "ExitRule")
    versions = (AutomationVersion.objects.filter(state__in=["active", "inactive"]).exclude(correlation_key="")
                .only("pk", "exit_on", "correlation_key"))
    ExitRule.objects.bulk_create(
        (ExitRule(version_id=version.pk, event_type=event_type, correlation_key=version.correlation_key)
         for version in versions.iterator() for event_type in version.exit_on or []),
        batch_size=1000)


class Migration(migrations.Migration):

    dependencies = [
        ('automations', '0005_steprun_running_idx'),
    ]

    operations = [
        migrations.CreateModel(
            name='ExitRule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('event_type', models.CharField(max_length=100)),
                ('correlation_key', models.CharField(max_length=200)),
                ('version', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='exit_rules', to='automations.automationversion')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('event_type', 'version'), name='exit_rule_unique')],
            },
        ),
        migrations.RunPython(rules_of_activated_versions, migrations.RunPython.noop),
    ]
