"""How the Telegram transport packs an action's replies into as few Bot API calls as fit."""

from bot.telegram.render import MESSAGE_LIMIT, merge_messages
from flows.io import Button, Poll, Reply

NEXT = (Button(label="A", data="c|2|0"),)
POLL = Poll(
    question_id="q",
    question="How many days?",
    options=("14", "30"),
    correct_option=1,
    explanation="30 days.",
)


def test_a_verdict_and_the_next_question_are_one_message_with_its_buttons() -> None:
    merged = merge_messages(
        [Reply(text="✅ Correct."), Reply(text="📝 Your task: …", buttons=(NEXT,))]
    )
    assert merged == [Reply(text="✅ Correct.\n\n📝 Your task: …", buttons=(NEXT,))]


def test_a_message_with_buttons_is_never_merged_into_the_next() -> None:
    replies = [Reply(text="Pick one", buttons=(NEXT,)), Reply(text="More")]
    assert merge_messages(replies) == replies


def test_texts_are_not_merged_beyond_telegrams_limit() -> None:
    long = "x" * (MESSAGE_LIMIT - 10)
    replies = [Reply(text=long), Reply(text="y" * 20)]
    assert merge_messages(replies) == replies
    # Escaping counts: '&' becomes '&amp;'.
    almost = "&" * (MESSAGE_LIMIT // 5)
    assert len(merge_messages([Reply(text=almost), Reply(text="z" * 20)])) == 2


def test_a_quiz_polls_short_header_rides_in_its_question() -> None:
    [poll] = merge_messages([Reply(kind="poll", text="⚡ Question 2 of 5", poll=POLL)])
    assert poll.text == ""
    assert poll.poll is not None
    assert poll.poll.question == "⚡ Question 2 of 5\nHow many days?"
    assert poll.poll.question_id == "q"


def test_a_verdict_before_a_poll_is_the_message_sent_before_it() -> None:
    [poll] = merge_messages(
        [Reply(text="✅ Correct."), Reply(kind="poll", text="⚡ Question 2 of 5", poll=POLL)]
    )
    assert poll.text == "✅ Correct."  # a message, then the poll with its header
    assert poll.poll is not None
    assert poll.poll.question.startswith("⚡ Question 2 of 5\n")
    intro = "⚡ A quiz: " + "about refunds " * 30
    [before] = merge_messages([Reply(kind="poll", text=intro, poll=POLL)])
    assert before.text == intro
    assert before.poll == POLL
