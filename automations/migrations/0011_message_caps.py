import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('automations', '0010_backtest'),
    ]

    operations = [
        migrations.CreateModel(
            name='MessageLock',
            fields=[
                ('customer_id', models.CharField(max_length=255, primary_key=True, serialize=False)),
            ],
        ),
        migrations.CreateModel(
            name='SentMessage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('customer_id', models.CharField(max_length=255)),
                ('channel', models.CharField(max_length=10)),
                ('key', models.CharField(max_length=255, unique=True)),
                ('status', models.CharField(choices=[('reserved', 'Reserved (being sent)'), ('sent', 'Sent')], default='reserved', max_length=10)),
                ('sent_at', models.DateTimeField()),
            ],
        ),
        migrations.RemoveConstraint(
            model_name='steprun',
            name='one_run_per_attempt',
        ),
        migrations.AlterField(
            model_name='steprun',
            name='status',
            field=models.CharField(choices=[('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('interrupted', 'Interrupted'), ('deferred', 'Deferred')], default='running', max_length=12),
        ),
        migrations.AddConstraint(
            model_name='steprun',
            constraint=models.UniqueConstraint(condition=models.Q(('status', 'deferred'), _negated=True), fields=('execution', 'step_key', 'loop_index', 'attempt'), name='one_run_per_attempt'),
        ),
        migrations.AddField(
            model_name='sentmessage',
            name='automation',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='automations.automation'),
        ),
        migrations.AddIndex(
            model_name='sentmessage',
            index=models.Index(fields=['customer_id', 'sent_at'], name='sentmessage_customer_idx'),
        ),
    ]
