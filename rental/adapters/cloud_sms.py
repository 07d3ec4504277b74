"""What the cloud SMS providers' adapters (`aliyun_sms`, `tencent_sms`) are configured with.

One set of settings serves either provider, as `SMS_PROVIDER` names it; each provider
calls them by its own names (in brackets below)."""

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class CloudSmsSettings:
    key_id: str  # Alibaba: AccessKey ID; Tencent: SecretId
    key_secret: str  # Alibaba: AccessKey secret; Tencent: SecretKey
    sign_name: str  # the approved signature shown in the text, e.g. "EasyRide"
    template_id: str  # Alibaba: TemplateCode ("SMS_1234"); Tencent: TemplateId ("123456")
    app_id: str = ""  # Tencent only: the SmsSdkAppId of the SMS application
    region: str = ""  # the API's region; empty: cn-hangzhou (Alibaba), ap-guangzhou (Tencent)
    endpoint: str = ""  # scheme://host[:port] instead of the provider's own (tests' fakes)

    def missing(self, *names: str) -> list[str]:
        """Those of the named settings that are empty."""
        return [name for name in names if not getattr(self, name)]


def split_endpoint(endpoint: str) -> tuple[str, str]:
    """("https" or "http", "host[:port]") of an endpoint override; ("https", "") for none,
    which leaves the SDK its own endpoint."""
    if not endpoint:
        return "https", ""
    parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"SMS_ENDPOINT {endpoint!r} is not scheme://host[:port]")
    return parts.scheme, parts.netloc
