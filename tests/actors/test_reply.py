from __future__ import annotations

from actors.reply import FutureReply


def test_a_reply_whose_waiter_gave_up_in_the_middle_of_settling_is_a_no_op():
    """The waiter cancels from its thread between the actor's check and its set."""
    reply = FutureReply()
    reply.future.cancel()
    reply.future.done = lambda: False  # type: ignore[method-assign]  # the check ran before the cancel
    reply.set_result(1)
    reply.set_exception(RuntimeError("late"))
    assert reply.future.cancelled()


def test_a_reply_is_settled_once():
    reply = FutureReply()
    reply.set_result(1)
    reply.set_result(2)
    reply.set_exception(RuntimeError("late"))
    assert reply.wait(0) == 1
