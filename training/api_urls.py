"""The runs API, included under ``/api/`` by the site's urls."""

from rest_framework.routers import SimpleRouter

from training import api

router = SimpleRouter()
router.register("runs", api.RunViewSet, basename="api-run")

urlpatterns = router.urls
