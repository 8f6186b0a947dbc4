"""The runs and datasets API, included under ``/api/`` by the site's urls."""

from rest_framework.routers import SimpleRouter

from training import api, dataset_api, set_api

router = SimpleRouter()
router.register("runs", api.RunViewSet, basename="api-run")
router.register("run-sets", set_api.RunSetViewSet, basename="api-run-set")
router.register("datasets", dataset_api.DatasetViewSet, basename="api-dataset")

urlpatterns = router.urls
