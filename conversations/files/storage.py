"""Where attachments are kept: Django's storage named "attachments" (settings.STORAGES).

Local files in the embedded mode (HELPDESK_ATTACHMENT_ROOT), any S3-compatible bucket through
django-storages when HELPDESK_S3_BUCKET is set (docs/attachments.md "Storage"). The fields of
the Attachment model hold this lazy handle rather than the storage itself, so the storage is
looked up again when settings change (tests point it at a local S3 server).
"""

from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty


class AttachmentStorage(LazyObject):
    def _setup(self) -> None:
        self._wrapped = storages["attachments"]


attachment_storage = AttachmentStorage()


@receiver(setting_changed, dispatch_uid="conversations.files.storage")
def _storages_changed(*, setting: str, **kwargs: object) -> None:
    if setting == "STORAGES":
        attachment_storage._wrapped = empty
