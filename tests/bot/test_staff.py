"""Tutor and admin commands through process_update: roles, cohorts and the permission matrix."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.telegram.context import CoachApplication
from tests.bot.fakes import BOT_USERNAME, RecordingRequest
from tests.bot.people import People, button_data, running_app

ADMIN = 1
TUTOR = 2
OTHER_TUTOR = 3
LEARNER = 4


@pytest.fixture
async def staff_app(tmp_path: Path, fake: RecordingRequest) -> AsyncIterator[CoachApplication]:
    async with running_app(tmp_path / "staff.db", fake, (ADMIN,)) as application:
        yield application


@pytest.fixture
async def people(staff_app: CoachApplication, fake: RecordingRequest) -> People:
    crowd = People(staff_app, fake)
    for uid in range(1, 10):
        await crowd.say(uid, "/help")  # every user has used the bot once
    assert "now a tutor" in await crowd.say(ADMIN, f"/grant tutor {TUTOR}")
    assert "now a tutor" in await crowd.say(ADMIN, f"/grant tutor {OTHER_TUTOR}")
    return crowd


async def test_tutor_creates_a_cohort_and_a_learner_joins_by_link(people: People) -> None:
    created = await people.say(TUTOR, "/cohort new Tuesday Group")
    assert f"https://t.me/{BOT_USERNAME}?start=join_" in created
    code = created.split("start=join_")[1].split()[0]

    joined = await people.say(LEARNER, f"/start join_{code}")
    assert "You've joined Tuesday Group" in joined
    assert "Welcome to Aftercare Coach" in joined
    assert "already in Tuesday Group" in await people.say(LEARNER, f"/join {code}")
    assert "doesn't match any cohort" in await people.say(5, "/join NOPE1234")

    members = await people.say(TUTOR, "/cohort members Tuesday Group")
    assert "1 learner(s)" in members
    assert f"id {LEARNER}" in members
    listed = await people.say(TUTOR, "/cohort list")
    assert "Tuesday Group – 1 learner(s)" in listed

    rotated = await people.say(TUTOR, f"/cohort code {code}")
    new_code = rotated.split("start=join_")[1].split()[0]
    assert new_code != code
    assert "doesn't match any cohort" in await people.say(6, f"/join {code}")
    assert "You've joined" in await people.say(6, f"/join {new_code}")

    assert "Removed" in await people.say(TUTOR, f"/cohort remove {new_code} {LEARNER}")
    assert "is not in" in await people.say(TUTOR, f"/cohort remove {new_code} {LEARNER}")


PRIVILEGED = [
    ("/grant tutor 7", "admin"),
    ("/revoke 7", "admin"),
    ("/cohort new Evening", "tutor"),
    ("/cohort list", "tutor"),
    ("/cohort members Evening", "tutor"),
    ("/cohort code Evening", "tutor"),
    ("/cohort remove Evening 4", "tutor"),
    ("/learner 4", "tutor"),
    ("/criteria", "tutor"),
    ("/export", "tutor"),
    ("/evidence 4", "tutor"),
    ("/chart", "tutor"),
    ("/stats", "admin"),
    ("/push", "tutor"),
    ("/push data-protection Evening tomorrow 09:00", "tutor"),
    ("/pushes", "tutor"),
    ("/push report 1", "tutor"),
    ("/push cancel 1", "tutor"),
    ("/push resend 1", "tutor"),
]


@pytest.mark.parametrize(("command", "needed"), PRIVILEGED, ids=[c for c, _ in PRIVILEGED])
@pytest.mark.parametrize("who", ["learner", "tutor", "admin"])
async def test_permission_matrix(people: People, command: str, needed: str, who: str) -> None:
    user = {"learner": LEARNER, "tutor": TUTOR, "admin": ADMIN}[who]
    if command != "/cohort new Evening":
        await people.say(TUTOR if who != "admin" else ADMIN, "/cohort new Evening")
    reply = await people.say(user, command)
    allowed = {"learner": 0, "tutor": 1, "admin": 2}[who] >= {"tutor": 1, "admin": 2}[needed]
    assert ("only for" in reply) is not allowed, reply


async def test_a_tutor_cannot_touch_another_tutors_cohort(people: People) -> None:
    created = await people.say(TUTOR, "/cohort new Mine")
    code = created.split("start=join_")[1].split()[0]
    for command in ("members Mine", f"members {code}", f"code {code}", f"remove {code} 4"):
        assert "No cohort" in await people.say(OTHER_TUTOR, f"/cohort {command}")
    assert "Mine" not in await people.say(OTHER_TUTOR, "/cohort list")
    assert "Mine – 0 learner(s)" in await people.say(ADMIN, "/cohort list")  # admins see all


async def test_roles_by_username_and_by_reply_and_revoke(
    people: People, staff_app: CoachApplication, fake: RecordingRequest
) -> None:
    assert "8 is now a admin" not in await people.say(ADMIN, "/grant admin @nobody")
    assert "Nobody called @nobody" in await people.say(ADMIN, "/grant admin @nobody")
    reply = await people.say(ADMIN, "/grant tutor @u5")
    assert "now a tutor" in reply
    assert "learner again" in await people.say(ADMIN, f"/revoke {TUTOR}")
    assert "only for tutors" in await people.say(TUTOR, "/cohort list")
    assert "has no tutor or admin role" in await people.say(ADMIN, f"/revoke {TUTOR}")
    assert "your own role" in await people.say(ADMIN, f"/revoke {ADMIN}")
    scoped = [c for c in fake.sent("setMyCommands") if "scope" in c.params]
    assert scoped


async def test_reports_for_a_tutor_and_an_admin(people: People, fake: RecordingRequest) -> None:
    created = await people.say(TUTOR, "/cohort new Reports")
    code = created.split("start=join_")[1].split()[0]
    await people.say(LEARNER, f"/join {code}")
    await people.say(LEARNER, "/quiz")
    # The learner answers the first quiz question (typed, not a poll).
    await people.app.process_update(
        people.users[LEARNER].press(button_data(fake, "Faulty goods basics"))
    )
    await people.say(LEARNER, "30 days")
    assert "Your progress" in await people.say(LEARNER, "/progress")  # their own

    progress = await people.say(TUTOR, "/progress")
    assert "Your cohorts – 1 learners" in progress
    assert "Accuracy: 100%" in progress
    # Per learner, the same revision line as /learner gives (one query for the cohort).
    assert "🔁 Revision: 0 of 1 cards due today · last revision: never · streak: 1 day" in progress
    detail = await people.say(TUTOR, f"/learner {LEARNER}")
    assert f"U{LEARNER}" in detail
    # The quiz answer became a revision card, due in two days; no /revise session yet.
    assert "🔁 Revision: 0 of 1 cards due today · last revision: never · streak: 1 day" in detail
    assert "not in your cohorts" in await people.say(OTHER_TUTOR, f"/learner {LEARNER}")
    matrix = await people.say(TUTOR, "/criteria Reports")
    assert f"U{LEARNER}" in matrix
    assert "practice" in matrix

    before = len(fake.sent("sendDocument"))
    await people.say(TUTOR, "/export Reports")
    documents = fake.sent("sendDocument")[before:]
    assert len(documents) == 3  # answers, progress and questions
    await people.say(TUTOR, f"/evidence {LEARNER}")
    assert len(fake.sent("sendDocument")) == before + 4
    await people.say(TUTOR, "/chart")
    assert fake.sent("sendPhoto")

    assert "only for admins" in await people.say(TUTOR, "/stats")
    assert "Learners" in await people.say(ADMIN, "/stats")
    assert "All learners" in await people.say(ADMIN, "/progress")


async def test_progress_is_paged_with_buttons_and_pages_recheck_the_role(
    people: People, fake: RecordingRequest
) -> None:
    created = await people.say(TUTOR, "/cohort new Big")
    code = created.split("start=join_")[1].split()[0]
    for uid in range(10, 24):
        people.users[uid] = people.person(uid)
        await people.say(uid, f"/join {code}")
    first = await people.say(TUTOR, "/progress Big")
    assert "Big – 14 learners, page 1 of 2" in first
    next_page = button_data(fake, "Next ▶")
    await people.app.process_update(people.users[TUTOR].press(next_page))
    edits = fake.sent("editMessageText")
    assert "page 2 of 2" in str(edits[-1].params["text"])

    await people.app.process_update(people.users[LEARNER].press(next_page))
    assert "only for tutors" in str(fake.sent("editMessageText")[-1].params["text"])
    await people.app.process_update(people.users[OTHER_TUTOR].press(next_page))
    assert "no longer available" in str(fake.sent("editMessageText")[-1].params["text"])
