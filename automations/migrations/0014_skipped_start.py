# Why an event started no run of an automation listening for it.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('automations', '0013_execution_cancel_record'),
        ('billing_events', '0004_customer_timezone_blank'),
    ]

    operations = [
        migrations.CreateModel(
            name='SkippedStart',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reason', models.CharField(choices=[('paused', 'The automation was paused'), ('trigger', "The trigger's setting did not match the event"), ('conditions', 'The entry conditions were not met'), ('live_run', 'A run for the same value was still under way'), ('ran_once', 'It had already run once for the same value')], max_length=12)),
                ('detail', models.TextField(blank=True)),
                ('at', models.DateTimeField()),
                ('automation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='automations.automation')),
                ('blocking', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='automations.execution')),
                ('event', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='skipped_starts', to='billing_events.event')),
                ('version', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='automations.automationversion')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('event', 'automation'), name='one_skip_per_event_and_automation')],
            },
        ),
    ]
