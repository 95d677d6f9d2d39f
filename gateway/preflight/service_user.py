"""Whether the service's user may write a folder: the daemon runs as `evgw`, not as the admin
who runs the check.

Run as root, the check asks the kernel itself: a forked child takes the user's ids and groups
and calls access(2), so ACLs, read-only mounts and every rule the kernel applies count. Run
as another user it cannot become `evgw`, and reads the mode bits instead (owner, group,
others; ACLs not seen), which it says.
"""

from __future__ import annotations

import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

from evgw.i18n import _

SERVICE_USER = "evgw"


@dataclass(frozen=True)
class ServiceUser:
    name: str
    uid: int
    gids: tuple[int, ...]

    @classmethod
    def named(cls, name: str) -> ServiceUser | None:
        """The account `name`, or None when this machine has none."""
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            return None
        groups = os.getgrouplist(name, entry.pw_gid)
        return cls(name, entry.pw_uid, tuple(dict.fromkeys([entry.pw_gid, *groups])))

    @classmethod
    def current(cls) -> ServiceUser:
        """The user running this process."""
        uid = os.geteuid()
        try:
            name = pwd.getpwuid(uid).pw_name
        except KeyError:
            name = str(uid)
        return cls(name, uid, tuple(dict.fromkeys([os.getegid(), *os.getgroups()])))

    @property
    def how(self) -> str:
        """How the answer was found, for the report."""
        if os.geteuid() == 0:
            how = _("as {user} (the kernel's access check, run as root)")
        elif os.geteuid() == self.uid:
            how = _("as {user} (this user)")
        else:
            how = _("from the mode bits for {user} (ACLs not seen; run as root to be exact)")
        return how.format(user=self.name)


def can_write(folder: Path, user: ServiceUser) -> bool:
    """Whether `user` may create files in `folder` (write and search on it, search above)."""
    if os.geteuid() == 0 and user.uid != 0:
        return _kernel_says(folder, user)
    if os.geteuid() == user.uid:
        return os.access(folder, os.W_OK | os.X_OK)
    if not all(_allows(p, user, stat.S_IXUSR) for p in folder.absolute().parents):
        return False
    return _allows(folder, user, stat.S_IWUSR) and _allows(folder, user, stat.S_IXUSR)


def _kernel_says(folder: Path, user: ServiceUser) -> bool:
    pid = os.fork()
    if pid == 0:  # the child: become the user, ask, exit with the answer
        try:
            os.setgroups(list(user.gids))
            os.setgid(user.gids[0])
            os.setuid(user.uid)
            os._exit(0 if os.access(folder, os.W_OK | os.X_OK) else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def _allows(path: Path, user: ServiceUser, owner_bit: int) -> bool:
    """Whether the mode bits give `user` the permission `owner_bit` stands for (S_I?USR)."""
    try:
        st = path.stat()
    except OSError:
        return False
    if user.uid == 0:
        return True
    if st.st_uid == user.uid:
        return bool(st.st_mode & owner_bit)
    if st.st_gid in user.gids:
        return bool(st.st_mode & (owner_bit >> 3))
    return bool(st.st_mode & (owner_bit >> 6))
