import secrets

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone
from rest_framework import exceptions, generics, permissions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from .models import Offer, Order, OrderEvent, OrderItem, Product, Shop
from .serializers import (CENT, OrderSerializer, PlaceOrderSerializer, ProductSerializer,
                          effective_price)


class Conflict(exceptions.APIException):
    status_code = 409

    def __init__(self, code, message, **extra):
        super().__init__(message, code)
        self.extra = extra


def exception_handler(exc, context):
    """Errors in the API's shape: {"error": {"code", "message", "fields"?}}."""
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        body = {"code": "validation_error", "message": "invalid request", "fields": response.data}
    elif isinstance(exc, exceptions.ParseError):
        body = {"code": "malformed_json", "message": str(exc.detail)}
    elif isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        body = {"code": "unauthenticated", "message": str(exc.detail)}
        response.status_code = 401
    elif isinstance(exc, exceptions.PermissionDenied):
        body = {"code": "forbidden", "message": str(exc.detail)}
    elif isinstance(exc, exceptions.NotFound) or response.status_code == 404:
        body = {"code": "not_found", "message": "not found"}
    elif isinstance(exc, Conflict):
        body = {"code": exc.detail.code, "message": str(exc.detail), **exc.extra}
    else:
        body = {"code": getattr(exc, "default_code", "error"), "message": str(exc)}
    response.data = {"error": body}
    return response


class ProductPagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100


def active_offers():
    now = timezone.now()
    return Prefetch("offers", to_attr="active_offers",
                    queryset=Offer.objects.filter(start_date__lte=now, end_date__gt=now,
                                                  deleted_at__isnull=True))


class ShopProductList(generics.ListAPIView):
    """W1: GET /api/v1/shops/{id}/products — anyone; hidden and deleted products left out."""
    serializer_class = ProductSerializer
    pagination_class = ProductPagination
    authentication_classes = []
    permission_classes = [permissions.AllowAny]

    def get_queryset(self):
        shop = get_object_or_404(Shop, pk=self.kwargs["shop_id"])
        return (Product.objects.filter(shop=shop, is_hidden=False, deleted_at__isnull=True)
                .order_by("id").prefetch_related(active_offers()))


class IsCustomer(permissions.BasePermission):
    def has_permission(self, request, view):
        return request.user is not None and request.user.role == "customer"


class PlaceOrder(APIView):
    """W2: POST /api/v1/orders with explicit items — all-or-nothing: in one transaction the
    products are locked (SELECT ... FOR UPDATE, ascending id, so placements never deadlock),
    their stock checked and taken, the order, its lines (one bulk INSERT) and its first event
    written."""
    permission_classes = [IsCustomer]

    def post(self, request):
        data = PlaceOrderSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        for _attempt in range(3):
            try:
                return self.place(request.user, data.validated_data)
            except IntegrityError as e:  # a taken confirmation code: try again with another
                if "orders_code_key" not in str(e):
                    raise
        raise Conflict("conflict", "could not allocate an order code")

    def place(self, user, v):
        wanted = {i["product_id"]: i["quantity"] for i in v["items"]}
        with transaction.atomic():
            products = list(
                Product.objects.select_for_update(of=("self",))
                .select_related("shop")
                .filter(id__in=wanted.keys(), deleted_at__isnull=True, is_hidden=False)
                .order_by("id")
                .prefetch_related(active_offers()))
            found = {p.id: p for p in products}
            for pid in wanted:
                if pid not in found:
                    raise exceptions.NotFound()
            if len({p.shop_id for p in products}) > 3:
                raise Conflict("cart_shop_limit", "items from more than 3 shops")
            now = timezone.now()
            lines, items_total = [], 0
            for p in products:
                q = wanted[p.id]
                if p.shop.status != "active":
                    raise Conflict("shop_unavailable", "the shop is not taking orders",
                                   product_id=p.id)
                if q < p.minimum_quantity or (q - p.minimum_quantity) % p.increment_rate:
                    raise exceptions.ValidationError({"items": "quantity not allowed"})
                if not p.is_unlimited and p.stock < q:
                    raise Conflict("out_of_stock", "not enough stock", product_id=p.id)
                price = effective_price(p)[0]
                total = (price * q).quantize(CENT)
                items_total += total
                lines.append(OrderItem(product_id=p.id, shop_id=p.shop_id, name=p.name,
                                       quantity=q, unit_price=price,
                                       unit_cost=p.cost_price or 0, line_total=total))
                if not p.is_unlimited:
                    p.stock -= q
                p.sales_count += q
                p.stock_version += 1
                p.updated_at = now
            Product.objects.bulk_update(
                products, ["stock", "sales_count", "stock_version", "updated_at"])
            fee = CENT * int(settings.WASSALLY_DELIVERY_FEE.replace(".", ""))
            loc = v["location"]
            order = Order.objects.create(
                code=f"{secrets.randbelow(10 ** 8):08d}", user_id=user.id,
                receiver_name=v["receiver_name"], receiver_phone=v["receiver_phone"],
                address=loc["address"], latitude=loc["latitude"], longitude=loc["longitude"],
                notes=v["notes"], items_total=items_total, delivery_fee=fee,
                total=items_total + fee, coins=settings.WASSALLY_COINS_PER_ORDER)
            for line in lines:
                line.order = order
            OrderItem.objects.bulk_create(lines)
            OrderEvent.objects.create(order=order, seq=1, status="pending", by_user_id=user.id)
        return Response(OrderSerializer(order, context={"lines": lines}).data,
                        status=status.HTTP_201_CREATED)
