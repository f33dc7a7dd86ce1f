from django.apps import AppConfig


class SmsvoiceConfig(AppConfig):
    name = "smsvoice"
    verbose_name = "Organizations and staff"
