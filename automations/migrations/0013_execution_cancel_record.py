# Who canceled a run, where and why; a completed run reads "Completed", not "Succeeded".

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('automations', '0012_loop_items'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='execution',
            name='cancel_reason',
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name='execution',
            name='canceled_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddField(
            model_name='execution',
            name='canceled_in',
            field=models.CharField(blank=True, choices=[('admin', 'in the admin'), ('api', 'through the API')], max_length=10),
        ),
        migrations.AlterField(
            model_name='execution',
            name='status',
            field=models.CharField(choices=[('running', 'Running'), ('waiting', 'Waiting'), ('succeeded', 'Completed'), ('failed', 'Failed'), ('canceled', 'Canceled')], default='waiting', max_length=10),
        ),
    ]
