"""Bearer tokens as the Wassally server issues them (security/tokens.cpp): HS256 JWTs,
header.payload.signature in base64url, HMAC-SHA256 over "header.payload" with the server's secret;
payload {sub, role, iat, exp, typ: "access"}. Verified statelessly, as the server does (and as
simplejwt's JWTStatelessUserAuthentication does): no database read per request."""
import base64
import hashlib
import hmac
import json
import time

from django.conf import settings
from rest_framework import authentication, exceptions

ROLES = {"customer", "shop_owner", "delivery_crew", "staff"}


def _b64decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class TokenUser:
    is_authenticated = True
    is_anonymous = False

    def __init__(self, user_id, role):
        self.id = self.pk = user_id
        self.role = role


class WassallyTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header.startswith(self.keyword + " "):
            return None
        token = header[len(self.keyword) + 1:].strip()
        parts = token.split(".")
        if len(parts) != 3 or len(token) > 4096:
            raise exceptions.AuthenticationFailed("malformed token")
        try:
            head = json.loads(_b64decode(parts[0]))
        except ValueError:
            raise exceptions.AuthenticationFailed("malformed token")
        if not isinstance(head, dict) or head.get("alg") != "HS256":
            raise exceptions.AuthenticationFailed("bad algorithm")
        mac = hmac.new(settings.WASSALLY_TOKEN_SECRET.encode(),
                       (parts[0] + "." + parts[1]).encode(), hashlib.sha256).digest()
        expected = base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
        if not hmac.compare_digest(expected, parts[2]):
            raise exceptions.AuthenticationFailed("bad signature")
        try:
            payload = json.loads(_b64decode(parts[1]))
            user_id, exp, role = int(payload["sub"]), int(payload["exp"]), payload["role"]
        except (ValueError, KeyError, TypeError):
            raise exceptions.AuthenticationFailed("malformed token")
        if payload.get("typ") != "access" or role not in ROLES:
            raise exceptions.AuthenticationFailed("malformed token")
        if exp <= time.time():
            raise exceptions.AuthenticationFailed("expired token")
        return TokenUser(user_id, role), token

    def authenticate_header(self, request):
        return self.keyword
