"""Who am I, the firm's members, and sign-in: the tenancy part of the API."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import password_validation, update_session_auth_hash
from django.db.models import QuerySet, Value
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm import members, signin, timezones
from crm.api.exports import ExportableListMixin
from crm.api.serializers import normalized_text_field
from crm.api.viewsets import LocatedCreateMixin
from crm.middleware import bearer_token
from crm.models import PRINCIPAL, Membership, PrincipalAssignment, Role, Tenant, User, book_organizations
from crm.permissions import IsSignedInMember, IsTenantAdminOrReadOnly
from crm.rls import context_of
from crm.text import NameKey
from crm.tokens import TokenPairSerializer, TooManySignIns, tokens_for


class BookEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class TimeZoneField(serializers.ChoiceField):
    """An IANA time zone name ('America/Chicago'): one of the zone database's, listed in the schema."""

    default_error_messages = {"unknown_zone": 'Not an IANA time zone name (such as "America/Chicago").'}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=timezones.ZONE_CHOICES, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str) or not timezones.is_known(data):
            self.fail("unknown_zone")
        return data


class TenantSerializer(serializers.ModelSerializer):
    time_zone = TimeZoneField(help_text="IANA time zone the firm's reports count days and weeks in.")

    class Meta:
        model = Tenant
        fields = ("id", "name", "time_zone")
        read_only_fields = ("id", "name")


class FirmView(APIView):
    """Your firm: its name and time zone. Its admins change the time zone (reports count days and ISO
    weeks in it; a member without a zone of their own lives in it too)."""

    permission_classes = [IsTenantAdminOrReadOnly]

    def firm(self, request: Request) -> Tenant:
        return Tenant.objects.get(pk=context_of(request).member_tenant_id)

    @extend_schema(responses=TenantSerializer, operation_id="firm_retrieve", summary="Your firm")
    def get(self, request: Request) -> Response:
        return Response(TenantSerializer(self.firm(request)).data)

    @extend_schema(
        request=TenantSerializer,
        responses=TenantSerializer,
        operation_id="firm_partial_update",
        summary="Change your firm's time zone (admins)",
    )
    def patch(self, request: Request) -> Response:
        serializer = TenantSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if "time_zone" in serializer.validated_data:
            members.firm_set_time_zone(serializer.validated_data["time_zone"])
        return Response(TenantSerializer(self.firm(request)).data)


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    tenant = TenantSerializer()
    role = serializers.ChoiceField(choices=Role.choices)
    book = BookEntrySerializer(many=True, help_text="The principals you work; for an admin, every principal.")
    time_zone = TimeZoneField(allow_null=True, help_text="Your own time zone; null: the firm's.")
    day_time_zone = serializers.CharField(
        help_text="The zone your day is counted in (follow-ups, tasks, the digest): yours, else the firm's."
    )


class MeUpdateSerializer(serializers.Serializer):
    time_zone = TimeZoneField(allow_null=True, help_text="Your own time zone; null: the firm's.")


class MeView(APIView):
    """The signed-in user, their firm, role, book and time zone (which every member, viewers included,
    sets for themselves)."""

    permission_classes = [IsSignedInMember]

    @extend_schema(responses=MeSerializer, operation_id="me_retrieve")
    def get(self, request: Request) -> Response:
        return Response(self.me(request))

    @extend_schema(
        request=MeUpdateSerializer,
        responses=MeSerializer,
        operation_id="me_partial_update",
        summary="Set your own time zone",
    )
    def patch(self, request: Request) -> Response:
        serializer = MeUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        if "time_zone" in serializer.validated_data:
            members.member_set_time_zone(
                user_id=context_of(request).member_user_id, time_zone=serializer.validated_data["time_zone"]
            )
        return Response(self.me(request))

    def me(self, request: Request) -> Any:
        context = context_of(request)
        user = User.objects.get(pk=context.member_user_id)
        # The membership and its firm in one query (the member's own, under RLS).
        membership = Membership.objects.select_related("tenant").get(
            user_id=user.pk, tenant_id=context.member_tenant_id
        )
        tenant = membership.tenant
        principals = book_organizations()._default_manager.filter(
            tenant_id=context.member_tenant_id, type=PRINCIPAL, deleted_at__isnull=True
        )
        if not context.is_admin:
            principals = principals.filter(pk__in=context.book)
        data = {
            "id": user.pk,
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "tenant": tenant,
            "role": context.role,
            "book": principals.order_by("name").values("id", "name"),
            "time_zone": membership.time_zone,
            "day_time_zone": membership.time_zone or tenant.time_zone,
        }
        return MeSerializer(data).data


class PasswordChangeSerializer(serializers.Serializer):
    current_password = serializers.CharField(
        write_only=True, max_length=4096, style={"input_type": "password"}, trim_whitespace=False
    )
    new_password = serializers.CharField(
        write_only=True,
        max_length=4096,
        style={"input_type": "password"},
        trim_whitespace=False,
        help_text="Checked by the password validators (length, similarity to your name and email, common "
        "passwords, all digits); a 400 lists what they refused.",
    )


class WrongCurrentPassword(PermissionDenied):
    """403: the current password was wrong (the request is well formed; proving who you are failed). The
    failure it recorded (crm.signin) commits with the answer; `errors` names the field for a form."""

    default_detail = "This is not your current password."
    default_code = "wrong_password"
    commit_anyway = True
    problem_extra = {
        "errors": [{"field": "current_password", "code": "wrong_password", "detail": default_detail}]
    }


class MyPasswordView(APIView):
    """Change your own password. The old one, your other sessions and every token issued before stop
    working; the answer carries new tokens so this client stays signed in. A wrong current password is a
    403 (`code` `wrong_password`, `errors` naming `current_password`) and counts as a failed sign-in: it
    may lock the account (429)."""

    permission_classes = [IsSignedInMember]
    problem_statuses = (429,)  # too many failed sign-ins (crm.signin)

    @extend_schema(
        request=PasswordChangeSerializer,
        responses=TokenPairSerializer,
        operation_id="me_password_change",
        summary="Change your password",
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = User.objects.get(pk=context_of(request).member_user_id)
        try:
            members.member_change_own_password(
                user=user,
                current_password=serializer.validated_data["current_password"],
                new_password=serializer.validated_data["new_password"],
            )
        except signin.SignInLocked as locked:
            raise TooManySignIns(locked.retry_after) from None
        except members.WrongPassword:
            raise WrongCurrentPassword from None
        if request._request.user.is_authenticated and bearer_token(request._request) is None:
            update_session_auth_hash(request._request, user)  # this browser session stays signed in
        tokens = tokens_for(user)
        return Response({"access": str(tokens.access_token), "refresh": str(tokens)})


class MemberSerializer(serializers.ModelSerializer):
    user = serializers.IntegerField(source="user_id", read_only=True)
    email = normalized_text_field(serializers.EmailField)(source="user.email", max_length=254)
    first_name = serializers.CharField(
        source="user.first_name", required=False, allow_blank=True, max_length=150
    )
    last_name = serializers.CharField(
        source="user.last_name", required=False, allow_blank=True, max_length=150
    )
    is_active = serializers.BooleanField(source="user.is_active", required=False)
    time_zone = TimeZoneField(
        required=False, allow_null=True, help_text="The member's own time zone; null: the firm's."
    )
    # As me/password/'s: a password is kept exactly as typed (no trimming) and bounded like any input.
    password = serializers.CharField(
        write_only=True,
        required=False,
        max_length=4096,
        trim_whitespace=False,
        style={"input_type": "password"},
    )
    book = serializers.SerializerMethodField()

    class Meta:
        model = Membership
        fields = (
            "id",
            "user",
            "email",
            "first_name",
            "last_name",
            "role",
            "is_active",
            "password",
            "book",
            "time_zone",
            "created_at",
        )
        read_only_fields = ("created_at",)

    def get_book(self, membership: Membership) -> list[int]:
        return [a.principal_id for a in getattr(membership, "live_book", [])]

    def validate_password(self, value: str) -> str:
        # The similarity validator compares the password with the member's own email and names.
        user = (
            self.instance.user
            if self.instance is not None
            else User(
                email=str(self.initial_data.get("email", "")).strip().lower(),
                first_name=str(self.initial_data.get("first_name", "")),
                last_name=str(self.initial_data.get("last_name", "")),
            )
        )
        # Django's ValidationError raised here becomes this field's errors, codes kept (DRF does it).
        password_validation.validate_password(value, user)
        return value

    def validate_email(self, value: str) -> str:
        if self.instance is not None and value.lower() != self.instance.user.email:
            raise ValidationError("A member's email cannot change here.")
        # Compared as the unique index compares them (crm_name_key: NFKC, case, spaces).
        taken = User.objects.alias(key=NameKey("email")).filter(key=NameKey(Value(value)))
        if self.instance is None and taken.exists():
            raise ValidationError("This email is already in use.")
        return value


class MemberViewSet(
    ExportableListMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    LocatedCreateMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The firm's members: admins add them, change roles, and deactivate them; others see themselves.
    API keys' users are not members here: they are listed, created and revoked at api-keys/."""

    serializer_class = MemberSerializer
    # Only for the schema (the model behind the id): every request goes through get_queryset().
    queryset = Membership.objects.none()
    permission_classes = [IsTenantAdminOrReadOnly]
    ordering = ("id",)
    ordering_fields = ("id", "created_at")
    filterset_class = None

    def get_queryset(self) -> QuerySet[Membership]:
        from django.db.models import Prefetch

        return (
            # People only: an API key's user is listed, created and revoked at api-keys/ with its key.
            Membership.objects.filter(
                tenant_id=context_of(self.request).member_tenant_id, user__api_key__isnull=True
            )
            .select_related("user")
            .prefetch_related(
                Prefetch(
                    "user__book",
                    queryset=PrincipalAssignment.objects.filter(deleted_at__isnull=True),
                    to_attr="live_book_",
                )
            )
            .order_by("id")
        )

    def _with_book(self, membership: Membership) -> Membership:
        membership.live_book = getattr(membership.user, "live_book_", [])  # type: ignore[attr-defined]
        return membership

    def export_instance(self, instance: Membership) -> Membership:
        return self._with_book(instance)

    def paginate_queryset(self, queryset: Any) -> Any:
        page = super().paginate_queryset(queryset)
        return [self._with_book(m) for m in page] if page is not None else None

    def get_object(self) -> Membership:
        return self._with_book(super().get_object())

    def perform_create(self, serializer: Any) -> None:
        data = serializer.validated_data
        user = data.get("user", {})
        serializer.instance = members.member_create(
            email=user["email"],
            role=data.get("role", Role.MANAGER),
            password=data.get("password"),
            first_name=user.get("first_name", ""),
            last_name=user.get("last_name", ""),
        )
        if data.get("time_zone"):
            members.member_set_time_zone(user_id=serializer.instance.user_id, time_zone=data["time_zone"])
            serializer.instance.time_zone = data["time_zone"]

    def perform_update(self, serializer: Any) -> None:
        data = serializer.validated_data
        user = data.get("user", {})
        membership = serializer.instance
        if (
            membership.user_id == context_of(self.request).user_id
            and data.get("role", membership.role) != membership.role
        ):
            raise ValidationError({"role": ["You cannot change your own role."]})
        members.member_update(
            membership=membership,
            role=data.get("role"),
            first_name=user.get("first_name"),
            last_name=user.get("last_name"),
            is_active=user.get("is_active"),
            password=data.get("password"),
        )
        if "time_zone" in data and data["time_zone"] != membership.time_zone:
            members.member_set_time_zone(user_id=membership.user_id, time_zone=data["time_zone"])
            membership.time_zone = data["time_zone"]

    def perform_destroy(self, instance: Membership) -> None:
        if instance.user_id == context_of(self.request).user_id:
            raise ValidationError({"detail": ["You cannot deactivate yourself."]})
        members.member_deactivate(membership=instance)
