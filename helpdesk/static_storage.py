"""How `collectstatic` writes the static files and `{% static %}` names them (settings.STORAGES,
docs/operations.md "Static files")."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class HashedCompressedStorage(CompressedManifestStaticFilesStorage):
    """WhiteNoise's storage: content-hashed names, gzip and brotli copies, a manifest.

    Two changes. The ES modules' `import … from "../helpdesk/client.js"` is rewritten to the
    hashed name too (a page that preloads the hashed client.js must not import it again under
    its fixed name). And before any collectstatic (a fresh clone, `manage.py serve`) there is
    no manifest: every file keeps its own name and is served from the source tree.
    """

    support_js_module_import_aggregation = True

    def stored_name(self, name: str) -> str:
        return super().stored_name(name) if self.hashed_files else name
