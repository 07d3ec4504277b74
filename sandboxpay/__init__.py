"""A sandbox payment gateway that behaves like the real ones (Alipay, WeChat Pay, Stripe):
orders created by a signed server call, paid by the rider on the gateway's page, and
confirmed to the merchant by signed, asynchronous, retried notifications."""
