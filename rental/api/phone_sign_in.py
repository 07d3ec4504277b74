"""Signing in with a code sent by SMS (rules: `rental.services.phone_sign_in`).

    POST /api/v1/auth/sms-codes  {phone}        -> 202 {phone (E.164), expires_in}
    POST /api/v1/auth/sms-token  {phone, code[, password]}  -> tokens, as /api/v1/auth/token

and, with the sandbox SMS provider only, `GET /sandbox/sms`: the page of texts the demo
"sent", where a tester reads the codes.
"""

import html
from typing import Annotated, Any

from flask import Blueprint
from flask_openapi3 import APIBlueprint, Tag
from pydantic import Field, StringConstraints

from rental.adapters.sandbox_sms import SandboxSms
from rental.api.common import platform
from rental.api.contract import NO_NUL, SIGNED_IN, AnswerModel, RequestModel
from rental.api.sessions import AnyPassword, Tokens, TypedPhone, _tokens
from rental.domain.phone_codes import CODE_DIGITS, CODE_VALID_FOR
from rental.services import phone_sign_in
from rental.services.commands.riders import SendSignInCode, SignInWithCode
from rental.services.phone_sign_in import CodeRules

SMS_SIGN_IN = Tag(name="sessions", description="signing in and out, tokens, the password")
blueprint = APIBlueprint("phone_sign_in", __name__, url_prefix="/api/v1", abp_tags=[SMS_SIGN_IN])
sandbox_pages = Blueprint("sandbox_sms", __name__)

# Anything but the digits is a wrong code, answered like one (401), not a bad request.
TypedCode = Annotated[str, StringConstraints(max_length=16, pattern=NO_NUL)]


def rules() -> CodeRules:
    config = platform().config
    return CodeRules(config.SECRET_KEY.encode(), config.SMS_HOME_REGION)


class CodeWanted(RequestModel):
    phone: TypedPhone

    def command(self) -> SendSignInCode:
        return SendSignInCode(self.phone)


class CodeSent(AnswerModel):
    phone: str = Field(description="the number the code was sent to, in E.164")
    expires_in: int = Field(description="seconds the code stays good")


@blueprint.post("/auth/sms-codes", responses={202: CodeSent})
def send_code(body: CodeWanted) -> tuple[dict[str, Any], int]:
    """Text a 6-digit sign-in code to `phone` (typed with or without its country code),
    replacing any code sent before. The same answer whether or not the number has an
    account. 400 `invalid_phone` (also a number the SMS provider will not text), 429
    `rate_limited` when asked too often for this phone or address, or `sms_limit_reached`
    when the provider's own limit of texts to the number is reached (Retry-After from the
    provider's period), 503 `sms_unavailable` (the provider could not be asked, or refused
    us: keys, sign name, template, balance)."""
    p = platform()
    phone = phone_sign_in.send_sign_in_code(p.uow(), p.sms, rules(), body.command(), p.now())
    answer = CodeSent(phone=phone, expires_in=int(CODE_VALID_FOR.total_seconds()))
    return answer.json(), 202


class CodeSignIn(RequestModel):
    phone: TypedPhone
    code: TypedCode = Field(description=f"the {CODE_DIGITS} digits texted")
    password: AnyPassword | None = Field(
        default=None,
        description="only for an account made by password sign-up, once: proves its number",
    )

    def command(self) -> SignInWithCode:
        return SignInWithCode(self.phone, self.code, self.password)


@blueprint.post("/auth/sms-token", responses={200: Tokens, 401: SIGNED_IN[401]})
def sign_in_with_code(body: CodeSignIn) -> dict[str, Any]:
    """A new session for the number's account, made now for a number seen the first time
    (a rider's, without a password). 401 `bad_code` (wrong, expired, spent or out of its
    5 tries: ask for a new one), `password_required` for an operator's number, or an
    account made by password sign-up whose number no code has proven yet: it signs in with
    its password, or sends it here once with the code (`password`), which proves the
    number for good."""
    p, now = platform(), platform().now()
    lifetimes = p.config.token_lifetimes()
    issued = phone_sign_in.sign_in_with_code(
        p.uow(), p.passwords, rules(), lifetimes, body.command(), now
    )
    return _tokens(issued, now)


@sandbox_pages.get("/sandbox/sms")
def sandbox_texts() -> tuple[str, int, dict[str, str]]:
    """The texts the sandbox provider kept instead of sending, newest first: a demo only."""
    sms = platform().sms
    if not isinstance(sms, SandboxSms):
        return "not found", 404, {"Content-Type": "text/plain"}
    rows = "".join(
        f"<tr><td>{sent_at:%H:%M:%S}</td><td class=phone>{html.escape(phone)}</td>"
        f"<td class=text>{html.escape(text)}</td></tr>"
        for sent_at, phone, text in sms.latest()
    )
    page = (
        "<!doctype html><meta charset=utf-8><meta name=viewport content='width=device-width'>"
        "<title>Sandbox SMS</title><h1>Texts sent by the sandbox SMS provider</h1>"
        "<p>Nothing here reaches a phone. Newest first.</p>"
        f"<table><tr><th>UTC</th><th>To</th><th>Text</th></tr>{rows}</table>"
    )
    return page, 200, {"Content-Type": "text/html; charset=utf-8"}
