"""The triage admin: conversations (the list, bulk actions, the change page and the reply box),
customers and labels, in modules by purpose."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from . import conversation, customers  # noqa: F401 - they register their admins
from .login import ThrottledLoginForm

admin.site.site_header = _("Helpdesk administration")
admin.site.site_title = _("Helpdesk")
admin.site.index_title = _("Triage and settings")
admin.site.login_form = ThrottledLoginForm  # failed logins are limited (login.py)
