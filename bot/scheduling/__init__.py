"""Scheduled reports: the scheduler and its leader gating (scheduler.py, leader.py), schedule
times (triggers.py), posting one report as one run (posting.py), and this process's schedules
(registry.py).

APScheduler loads with scheduler.py and triggers.py only, which are imported where schedules
exist: a bot without schedules never loads it. Must not: import bot.conversation.
"""


def run_scheduled_report(name: str) -> None:
    """The job function APScheduler stores, by the reference `bot.scheduling:run_scheduled_report`
    (scheduler.JOB_FUNC); it lives here so that reference stays valid across releases."""
    from bot.scheduling import registry

    registry.run_scheduled(name)
