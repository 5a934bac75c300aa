"""The console transport: the same engine in a terminal, with an SQLite file for progress."""

from __future__ import annotations

import asyncio
import getpass
from collections.abc import Callable, Sequence
from pathlib import Path

from flows.actions import LookBack, unpack
from flows.engine import Coach
from flows.io import Button, Input, Reply
from flows.ports import LearnerProfile
from tutoring.ids import parse_id

# The console has one learner: whoever sits at this terminal.
CONSOLE_LEARNER_ID = 1
QUIT_WORDS = frozenset({"/quit", "/exit", "quit", "exit"})
LETTERS = "ABCDEFGHIJ"
# The start of the engine's reply after /forget has erased everything.
ERASED = "🗑 Done"


def _folder(typed: str) -> Path:
    """A folder as typed, `~` meaning the user's home."""
    return Path(typed.strip()).expanduser()


def _for_console(text: str) -> str:
    """The engine's words for a phone, said for a keyboard: buttons here are typed numbers."""
    return text.replace("or tap a button", "or type a button's number").replace(
        "tap Resume", "type Resume's number"
    )


def _looks_back(button: Button) -> bool:
    """A scenario step's "◀ Back" (or a look-back's buttons). Not offered here: buttons are
    typed numbers in the console, and at a step a typed number is an answer ("30" days, an
    order "2 1 4 3", an option's number), so a numbered Back would take it."""
    return isinstance(unpack(button.data), LookBack)


def _write(text: str) -> None:
    """Texts carry their own line ends."""
    print(text, end="", flush=True)


class ConsoleChat:
    """Turns typed lines into engine inputs and prints the replies."""

    def __init__(
        self,
        coach: Coach,
        write: Callable[[str], None] = _write,
        downloads: Path = Path(),
        learner: LearnerProfile | None = None,
    ) -> None:
        self.coach = coach
        self.write = write
        self.downloads = downloads
        self.learner = learner or LearnerProfile(
            learner_id=CONSOLE_LEARNER_ID, display_name=getpass.getuser()
        )
        self.numbered: list[Button] = []
        self.saved: set[Path] = set()
        """Copies of the learner's data this console wrote (/forget removes them too)."""

    def _remove_saved(self) -> None:
        for path in self.saved:
            path.unlink(missing_ok=True)
            self.write(f"(removed {path})\n")
        self.saved.clear()

    async def send(self, line: str) -> list[Reply]:
        """Handle one typed line and print what the coach answers."""
        words = line.split(maxsplit=1)
        if words and words[0].lower() == "/mydata" and len(words) == 2:
            # `/mydata FOLDER` saves the document there (the engine takes no arguments).
            self.downloads = _folder(words[1])
            line = "/mydata"
        number = parse_id(line)
        if number is not None and self.numbered:
            index = number - 1
            if 0 <= index < len(self.numbered):
                replies = await self.coach.handle(
                    self.learner, Input.pressed(self.numbered[index].data)
                )
                self.show(replies)
                return replies
            # A number beyond the list is a slip, not an answer: say what fits, stay put.
            last = len(self.numbered)
            hint = "choose 1" if last == 1 else f"choose 1–{last}"
            self.write(f"There's no option {number} here – {hint}.\n")
            return []
        replies = await self.coach.handle(self.learner, Input.typed(line))
        self.show(replies)
        return replies

    def show(self, replies: Sequence[Reply]) -> None:
        numbered: list[Button] = []
        for reply in replies:
            if reply.kind == "echo":
                continue  # the learner already sees what they typed
            if reply.kind == "poll" and reply.poll is not None:
                options = "\n".join(
                    f"{LETTERS[i]}) {option}" for i, option in enumerate(reply.poll.options)
                )
                self.write(f"{reply.text}\n\n{reply.poll.question}\n\n{options}\n")
                self.write("(reply with a letter)\n")
                continue
            if reply.kind in {"document", "photo"} and reply.document is not None:
                path = self.downloads / reply.document.filename
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(reply.document.content)
                self.saved.add(path)
                self.write(f"{reply.text}: saved to {path}\n")
                continue
            if reply.text.startswith(ERASED):
                self._remove_saved()
            self.write(_for_console(reply.text) + "\n")
            shown = [b for row in reply.buttons for b in row if not _looks_back(b)]
            letters = [b for b in shown if len(b.label) == 1]
            others = [b for b in shown if len(b.label) > 1]
            if letters:
                self.write("(reply with a letter)\n")
            if others:
                numbered = others
                for number, button in enumerate(others, start=1):
                    self.write(f"  [{number}] {button.label}\n")
                self.write("\n")
        if numbered or any(r.kind != "echo" for r in replies):
            self.numbered = numbered


def default_downloads() -> Path:
    """Where /mydata saves unless told (`/mydata FOLDER`): the user's Downloads folder, else
    their home; never the folder the coach runs from (often its source tree)."""
    downloads = Path.home() / "Downloads"
    return downloads if downloads.is_dir() else Path.home()


async def run_console(
    coach: Coach,
    read: Callable[[str], str] = input,
    write: Callable[[str], None] = _write,
    downloads: Path | None = None,
) -> None:
    """The interactive loop: /quit (or Ctrl-D) leaves; progress is kept for next time."""
    chat = ConsoleChat(coach, write, downloads or default_downloads())
    write("Aftercare Coach – console chat. Type /help for commands, /quit to leave.\n")
    await chat.send("/start")
    while True:
        try:
            # Read in a thread so the storage writer keeps running while we wait for a line.
            line = await asyncio.to_thread(read, "> ")
        except (EOFError, KeyboardInterrupt):
            write("\nBye! Your progress is saved – run again and send /resume.\n")
            return
        if line.strip().lower() in QUIT_WORDS:
            write("Bye! Your progress is saved – run again and send /resume.\n")
            return
        await chat.send(line)
