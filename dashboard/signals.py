"""Audit entries for events that Django and django-axes announce: sign-in failures and lockouts, users and
their roles created or changed (in the admin, by a command, anywhere). Connected in DashboardConfig.ready."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.db.models.signals import m2m_changed, post_save, pre_save
from django.dispatch import receiver

from .models import AuditEntry
from .services.audit import audit_record

User = get_user_model()
# The account fields whose change is worth an entry; the password is named, never shown.
WATCHED = ("username", "email", "is_active", "is_staff", "is_superuser", "password")


@receiver(user_login_failed)
def _signin_failed(sender: Any, credentials: dict[str, Any], request=None, **kwargs: Any) -> None:
    name = str(credentials.get("username") or "")
    audit_record(
        action=AuditEntry.Action.SIGNIN_FAILED,
        actor_name=name,
        summary=f"Sign-in failed for {name!r}.",
        request=request,
    )


@receiver(user_locked_out)
def _signin_locked(sender: Any, request=None, username: str | None = None, ip_address: str | None = None, **kw) -> None:
    audit_record(
        action=AuditEntry.Action.SIGNIN_LOCKED,
        actor_name=str(username or ""),
        summary=f"Sign-in locked out for {str(username or '')!r} from {ip_address or 'an unknown address'}: "
        "too many failed attempts.",
        details={"address": ip_address},
        request=request,
    )


@receiver(pre_save, sender=User)
def _remember_account(sender: Any, instance: Any, **kwargs: Any) -> None:
    old = sender._default_manager.filter(pk=instance.pk).values(*WATCHED).first() if instance.pk else None
    instance._audit_before = old


@receiver(post_save, sender=User)
def _account_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if kwargs.get("raw"):
        return
    name = instance.get_username()
    if created:
        flags = [f for f in ("is_superuser", "is_staff") if getattr(instance, f)]
        audit_record(
            action=AuditEntry.Action.USER_CREATED,
            summary=f"User {name!r} created" + (f" ({', '.join(flags)})." if flags else "."),
            details={"user": name},
        )
        return
    before = getattr(instance, "_audit_before", None) or {}
    changed = [f for f in WATCHED if f in before and before[f] != getattr(instance, f)]
    if "last_login" in (kwargs.get("update_fields") or ()) or not changed:
        return
    shown = {f: [before[f], getattr(instance, f)] for f in changed if f != "password"}
    audit_record(
        action=AuditEntry.Action.USER_CHANGED,
        summary=f"User {name!r} changed: {', '.join('password' if f == 'password' else f for f in changed)}.",
        details={"user": name, "changed": shown, **({"password": "changed"} if "password" in changed else {})},
    )


@receiver(m2m_changed, sender=User.groups.through)
def _roles_changed(sender: Any, instance: Any, action: str, reverse: bool, model: Any, pk_set, **kw) -> None:
    if action not in {"post_add", "post_remove", "pre_clear"}:
        return
    if reverse:  # group.user_set.add(user...): instance is the group
        users = [u.get_username() for u in User._default_manager.filter(pk__in=pk_set or ())]
        pairs = [(user, instance.name) for user in users]
    else:
        names = (
            list(instance.groups.values_list("name", flat=True))
            if action == "pre_clear"
            else list(model._default_manager.filter(pk__in=pk_set or ()).values_list("name", flat=True))
        )
        pairs = [(instance.get_username(), name) for name in names]
    added = action == "post_add"
    for user, role in pairs:
        audit_record(
            action=AuditEntry.Action.ROLE_ADDED if added else AuditEntry.Action.ROLE_REMOVED,
            summary=f"User {user!r} {'given' if added else 'removed from'} the {role} role.",
            details={"user": user, "role": role},
        )
