"""What the workspace's views, bulk bar and shortcuts (agents/static/agents/views.js) write
themselves, translated here (the script has no gettext)."""

from django.utils.translation import gettext as _


def views_strings() -> dict[str, str]:
    return {
        "personal": _("Only you see this view."),
        "shared_with": _("Shared with %(team)s"),
        "count": _("%(count)s conversations"),
        "edit_view": _("Edit the view %(name)s"),
        "save_title": _("Save the current filters as a view"),
        "edit_title": _("Edit the view"),
        "only_me": _("Only me"),
        "team_option": _("Team %(team)s"),
        "no_filters": _("none: every conversation you may read"),
        "view_created": _("View %(name)s saved."),
        "view_saved": _("View %(name)s changed."),
        "view_deleted": _("View deleted."),
        "delete_confirm": _("Delete the view %(name)s?"),
        "select": _("Select %(name)s"),
        "selected": _("%(count)s selected"),
        "done_assigned": _("%(count)s assigned."),
        "done_resolved": _("%(count)s resolved."),
        "done_labelled": _("%(count)s labelled."),
        "done_snoozed": _("%(count)s snoozed."),
        "refused": _("%(count)s not changed: %(reasons)s"),
        "filter_status": _("Status"),
        "filter_assignee": _("Assignee"),
        "filter_team": _("Team"),
        "filter_channel": _("Channel"),
        "filter_label": _("Label"),
        "filter_priority": _("Priority"),
        "filter_attribute": _("Attribute"),
        "filter_callback": _("Call back"),
        "filter_mentioned": _("Mentioned"),
        "filter_q": _("Search"),
        "filter_ordering": _("Sort"),
    }
