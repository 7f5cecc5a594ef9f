"""Unmanaged models over the tables the Wassally server migrated (persistence/migrations/*.sql):
Django never creates or alters them."""
from django.db import models


class Shop(models.Model):
    name = models.TextField()
    status = models.TextField()

    class Meta:
        managed = False
        db_table = "shops"


class Offer(models.Model):
    shop = models.ForeignKey(Shop, models.DO_NOTHING)
    title = models.TextField()
    discount = models.DecimalField(max_digits=5, decimal_places=2)
    start_date = models.DateTimeField()
    end_date = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True)

    class Meta:
        managed = False
        db_table = "offers"


class Product(models.Model):
    shop = models.ForeignKey(Shop, models.DO_NOTHING)
    category_id = models.BigIntegerField(null=True)
    name = models.TextField()
    description = models.TextField()
    price = models.DecimalField(max_digits=12, decimal_places=2)
    cost_price = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    stock = models.DecimalField(max_digits=12, decimal_places=3)
    is_unlimited = models.BooleanField()
    quantity_type = models.TextField()
    minimum_quantity = models.DecimalField(max_digits=12, decimal_places=3)
    increment_rate = models.DecimalField(max_digits=12, decimal_places=3)
    image = models.TextField()
    is_hidden = models.BooleanField()
    sales_count = models.DecimalField(max_digits=14, decimal_places=3)
    stock_version = models.BigIntegerField()
    deleted_at = models.DateTimeField(null=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    # offer_products (offer_id, product_id) is the through table.
    offers = models.ManyToManyField(Offer, db_table="offer_products", related_name="products")

    class Meta:
        managed = False
        db_table = "products"


class Order(models.Model):
    type = models.TextField(default="order")
    code = models.TextField(unique=True)
    status = models.TextField(default="pending")
    user_id = models.BigIntegerField()
    requesting_shop_id = models.BigIntegerField(null=True)
    crew_id = models.BigIntegerField(null=True)
    receiver_name = models.TextField()
    receiver_phone = models.TextField()
    address = models.TextField(default="")
    latitude = models.FloatField()
    longitude = models.FloatField()
    notes = models.TextField(default="")
    items_total = models.DecimalField(max_digits=12, decimal_places=2)
    delivery_fee = models.DecimalField(max_digits=12, decimal_places=2)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    coins = models.BigIntegerField(default=0)
    wrong_code_count = models.IntegerField(default=0)
    code_locked = models.BooleanField(default=False)
    version = models.BigIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True)
    cancel_reason = models.TextField(null=True)
    cancel_note = models.TextField(null=True)
    cancelled_by = models.BigIntegerField(null=True)

    class Meta:
        managed = False
        db_table = "orders"


class OrderItem(models.Model):
    order = models.ForeignKey(Order, models.DO_NOTHING, related_name="items")
    product_id = models.BigIntegerField()
    shop_id = models.BigIntegerField()
    name = models.TextField()
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    unit_cost = models.DecimalField(max_digits=12, decimal_places=2)
    line_total = models.DecimalField(max_digits=14, decimal_places=2)
    is_bought = models.BooleanField(default=False)

    class Meta:
        managed = False
        db_table = "order_items"


class OrderEvent(models.Model):
    # The table's key is (order_id, seq); Django needs one primary-key column, and rows are
    # only ever inserted here, so order_id stands in for it.
    order = models.OneToOneField(Order, models.DO_NOTHING, primary_key=True, related_name="+")
    seq = models.IntegerField()
    status = models.TextField()
    crew_id = models.BigIntegerField(null=True)
    by_user_id = models.BigIntegerField(null=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        managed = False
        db_table = "order_events"
