"""Delete the role assignments of users who are no longer members of the server.

Until now leaving, a kick and a ban kept them (as the original does), so a removed administrator
who rejoined by invite was an administrator again. ``remove_membership`` now deletes them; this
clears the rows left behind by earlier removals.
"""

from typing import Any

from django.db import migrations
from django.db.models import Exists, OuterRef


def drop_roles_of_non_members(apps: Any, schema_editor: Any) -> None:
    member_role = apps.get_model("chat", "MemberRole")
    server_member = apps.get_model("chat", "ServerMember")
    membership = server_member.objects.filter(
        server_id=OuterRef("server_id"), user_id=OuterRef("user_id")
    )
    member_role.objects.exclude(Exists(membership)).delete()


class Migration(migrations.Migration):
    dependencies = [("chat", "0002_conversations")]

    operations = [migrations.RunPython(drop_roles_of_non_members, migrations.RunPython.noop)]
