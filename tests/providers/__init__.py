"""Local stand-ins for the payment providers' HTTP APIs (Alipay, WeChat Pay), on 127.0.0.1,
built from their documented request and response shapes."""
