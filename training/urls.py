"""The run and dataset pages, included at the site root."""

from django.urls import path

from training import dataset_views, set_views, views

urlpatterns = [
    path("runs/", views.run_list, name="run-list"),
    path("runs/compare/", views.run_compare, name="run-compare"),
    path("runs/sets/<int:pk>/", set_views.run_set_detail, name="run-set-detail"),
    path("runs/sets/<int:pk>/cancel/", set_views.run_set_cancel, name="run-set-cancel"),
    path("runs/<int:pk>/", views.run_detail, name="run-detail"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="run-cancel"),
    path("runs/<int:pk>/labels/", views.run_labels, name="run-labels"),
    path("runs/<int:pk>/pause/", views.run_pause, name="run-pause"),
    path("runs/<int:pk>/resume/", views.run_resume, name="run-resume"),
    path("runs/<int:pk>/stop/", views.run_stop, name="run-stop"),
    path("runs/<int:pk>/weights.<str:fmt>", views.run_weights, name="run-weights"),
    path("runs/<int:pk>/worker/", views.run_worker, name="run-worker"),
    path("workers/", views.worker_list, name="worker-list"),
    path("graphs/<int:pk>/versions/<int:number>/run/", views.run_new, name="run-new"),
    path("graphs/<int:pk>/versions/<int:number>/sets/new/", set_views.run_set_new, name="run-set-new"),
    path("datasets/", dataset_views.dataset_list, name="dataset-list"),
    path("datasets/<int:pk>/", dataset_views.dataset_detail, name="dataset-detail"),
    path("datasets/<int:pk>/samples/<int:index>.png", dataset_views.dataset_sample, name="dataset-sample"),
    path("datasets/<int:pk>/delete/", dataset_views.dataset_delete, name="dataset-delete"),
]
