"""The fake providers the demo runs in-process, so a newcomer can walk every payment channel."""

from __future__ import annotations

from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from providers.fakes.paygov import DEFAULT_ACCESS_TOKEN, FakePayGov


class DemoPayGov(FakePayGov):
    """The fake national platform; after its payment page, the citizen comes back to us."""

    def __init__(
        self,
        secret: str,
        *,
        partner_code: str,
        public_url: str,
        access_token: str = DEFAULT_ACCESS_TOKEN,
    ) -> None:
        base = public_url.rstrip("/")
        super().__init__(
            secret,
            partner_code=partner_code,
            access_token=access_token,
            callback_url=f"{base}/callbacks/paygov",
        )
        self.public_url = base

    def _payment_page(self, request: Request, reference: str) -> Response:
        response = super()._payment_page(request, reference)
        if request.method == "POST" and response.status_code == 303:
            return redirect(f"{self.public_url}/demo/paygov-return/{reference}", 303)
        return response
