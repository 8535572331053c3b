import billing_events.clock
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('automations', '0009_waits_approvals'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Backtest',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('version_number', models.PositiveIntegerField()),
                ('version_state', models.CharField(help_text="The version's state when the backtest was asked for.", max_length=10)),
                ('definition', models.JSONField()),
                ('period_start', models.DateTimeField()),
                ('period_end', models.DateTimeField(help_text='Exclusive: events that occurred before it are replayed.')),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed')], default='queued', max_length=10)),
                ('events_done', models.PositiveIntegerField(default=0)),
                ('events_total', models.PositiveIntegerField(blank=True, null=True)),
                ('checkpoint', models.JSONField(blank=True, editable=False, null=True)),
                ('chunk', models.PositiveIntegerField(default=0, editable=False, help_text='Tasks that have taken the replay on.')),
                ('result', models.JSONField(blank=True, null=True)),
                ('error', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(default=billing_events.clock.now)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('automation', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='backtests', to='automations.automation')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['-created_at', '-pk'],
            },
        ),
    ]
