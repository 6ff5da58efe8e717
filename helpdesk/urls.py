from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from conversations.admin.login import login_view
from conversations.views import widget_loader

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    # The admin's own login, answering 429 while failed logins are limited (before admin/).
    path("admin/login/", login_view),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("widget/", include("conversations.urls")),
    # The widget's embed URL: no file of that name, so WhiteNoise leaves it to this view.
    path("static/helpdesk/widget.js", widget_loader, name="widget-loader"),
    path("reports/", include("reports.urls")),
    path("agent/", include("agents.urls")),
    path("help/", include("helpcenter.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/", include("conversations.api_urls")),
    path("api/v1/", include("agents.api_urls")),
    path("api/v1/", include("reports.api_urls")),
    path("api/v1/", include("helpcenter.api_urls")),
    path("api/v1/", include("inboxes.api_urls")),
    path("api/v1/", include("campaigns.api_urls")),
]

# Under /api/, what Django answers itself takes the API's error shape too.
handler400 = "helpdesk.api_errors.bad_request"
handler404 = "helpdesk.api_errors.not_found"
handler500 = "helpdesk.api_errors.server_error"
