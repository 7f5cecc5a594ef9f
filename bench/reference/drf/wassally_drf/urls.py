from django.urls import path

from api import views

urlpatterns = [
    path("api/v1/shops/<int:shop_id>/products", views.ShopProductList.as_view()),
    path("api/v1/orders", views.PlaceOrder.as_view()),
]
