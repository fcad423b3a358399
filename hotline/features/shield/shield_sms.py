"""A bare "1" by SMS that answers the junk-call shield's verification ("Jika darurat, balas 1").

The same "1" also answers close-the-loop ("Balas 1 jika sudah beres", hotline/features/sms/confirmations.py)
and the category question of a report waiting for one. The question most recently asked of the number,
and still open, decides: `answer` takes the verification only when it is newer than the others.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from hotline.features.shield import shield

if TYPE_CHECKING:
    from hotline.features.sms.sms_sender import Sender

YES = shield.YES


def answer(sender: Sender, *, other_questions: Callable[[], tuple[datetime | None, ...]]) -> tuple[str, None] | None:
    """A bare "1": confirm the number's open verification, unless another open question was asked later.
    `other_questions`: when the other open questions to this number were asked (None: no such question);
    only asked for when a verification is open, so a "1" from anyone else costs one indexed lookup."""
    verification = shield.open_verification(sender.session, phone=sender.phone)
    if verification is None or any(at is not None and at > verification.at for at in other_questions()):
        return None
    shield.confirm(sender.session, config=sender.config, phone=sender.phone, verification=verification)
    sender.reply("shield_confirmed")
    return "shield_confirmed", None
