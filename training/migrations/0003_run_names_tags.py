from django.db import migrations, models


def name_existing_runs(apps, schema_editor):
    """Runs queued before names existed get the default name a new run gets."""
    Run = apps.get_model("training", "Run")
    for run in Run.objects.filter(name="").select_related("version__graph").iterator():
        Run.objects.filter(pk=run.pk).update(name=f"{run.version.graph.name} v{run.version.number} #{run.pk}"[:120])


class Migration(migrations.Migration):
    dependencies = [
        ("graphs", "0003_export_artifacts"),
        ("training", "0002_datasets"),
    ]

    operations = [
        migrations.AddField(
            model_name="run",
            name="name",
            field=models.CharField(blank=True, db_index=True, max_length=120),
        ),
        migrations.AddField(
            model_name="run",
            name="tags",
            field=models.ManyToManyField(blank=True, related_name="runs", to="graphs.tag"),
        ),
        migrations.RunPython(name_existing_runs, migrations.RunPython.noop),
    ]
