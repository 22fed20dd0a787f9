# firmware/storage.py: named files on flash, the contract the request journal is built on.
# MIT license; Oblako register runtime.
#
# The contract (FileStorage below and the test model firmware/flashmodel.py both meet it):
#
#   read(name) -> bytes | None   what was written, unsynced appends included; None if absent
#   append(name, data)           add data at the end; NOT durable until sync()
#   write(name, data)            replace the whole file atomically AND durably: after a power
#                                cut the file holds the old or the new content, never a mix;
#                                when write() returns the new content survives any cut. It is
#                                also a barrier: earlier appends are durable when it returns.
#   remove(name)                 delete (a no-op when absent); durable after sync()
#   sync()                       barrier: everything appended or removed before it survives a
#                                power cut once it returns
#
# What a power cut may do to appends that were not synced: lose any suffix of them and tear
# the last one that survives (keep a prefix of it, possibly followed by junk), as a board's
# flash does. Appends are never reordered with respect to each other before the cut point,
# and synced bytes are never changed. (FAT does not promise the last part: it rewrites the
# last sector on append. LittleFS, the default VFS on MicroPython boards, is copy-on-write
# and never tears at all: an unsynced append simply reverts.)
#
# Wear counters, the same in every implementation: `writes` = append() and write() calls,
# `bytes_written` = bytes given to them, `syncs` = barriers (sync() calls plus write() calls).
#
# Names are plain file names (no "/"), and ".tmp"/".bak" suffixes are reserved.
import os

from firmware.errors import StorageError, UsageError

_TMP = ".tmp"  # write(): the new content, complete and synced before it is renamed
_BAK = ".bak"  # write() on FAT, where rename cannot replace: the old content, parked

# CPython has fsync; MicroPython's os has neither fsync nor sync: there flush() on a LittleFS
# or FAT file is the commit (lfs_file_sync / f_sync), and close() implies it.
_fsync = getattr(os, "fsync", None)
_os_sync = getattr(os, "sync", None)


def check_name(name: str) -> None:
    """Raise UsageError unless name is a plain file name the storage layer accepts."""
    if not isinstance(name, str) or not name or len(name) > 48 or "/" in name:
        raise UsageError("storage name %r must be a plain file name of 1..48 chars" % (name,))
    if name.endswith(_TMP) or name.endswith(_BAK) or name[0] == ".":
        raise UsageError("storage name %r uses a reserved form" % (name,))


def _exists(path: str) -> bool:
    # os.stat is on every port; the errno of a missing file is not (ENOENT is 44 in the
    # WebAssembly port), so any OSError counts as "absent" here.
    try:
        os.stat(path)
        return True
    except OSError:
        return False


class FileStorage:
    """The storage contract over a directory of the real filesystem (VFS on a board)."""

    def __init__(self, root: str) -> None:
        root = root.rstrip("/") or "/"
        self.root = root
        self.writes = 0
        self.bytes_written = 0
        self.syncs = 0
        # The file last appended to, kept open so that unsynced appends cost no commit on a
        # board (close() commits on MicroPython's VFS): {name: file}, at most one entry.
        self._open: dict = {}
        self._dirty: list = []  # names appended to (or removed) since the last barrier
        # A name made or removed since the last barrier: only then does the barrier also sync
        # the directory (CPython). An append to a file whose name is already durable changes
        # the file alone, and fsync of the file covers its data and size (POSIX fsync(2)):
        # the journal's two barriers a receipt were 4 fsyncs, now 2.
        self._names_changed = False
        self._settled: list = []  # names whose leftovers of an interrupted write() were handled
        try:
            _makedirs(root)
        except OSError as e:
            raise StorageError("storage: cannot create %s: %s" % (root, e))

    def _path(self, name: str) -> str:
        check_name(name)
        return self.root + "/" + name

    def _settle(self, name: str) -> None:
        # Finish or undo a write() that a power cut interrupted (see write()). Once per name.
        if name in self._settled:
            return
        path = self._path(name)
        tmp = path + _TMP
        bak = path + _BAK
        try:
            if _exists(bak):
                self._names_changed = True  # the renames or removals below
                if _exists(path):
                    os.remove(bak)  # the new content was in place; only the cleanup was cut
                elif _exists(tmp):
                    # Cut between the two renames: tmp was complete and synced before the old
                    # content was parked, so it is the new content.
                    os.rename(tmp, path)
                    os.remove(bak)
                else:
                    os.rename(bak, path)  # not reachable by write(); keep the old content
            if _exists(tmp):
                os.remove(tmp)  # an unfinished write(): the old content stands
                self._names_changed = True
        except OSError as e:
            raise StorageError("storage: cannot recover %s: %s" % (name, e))
        self._settled.append(name)

    def _close_handle(self) -> None:
        for name in list(self._open):
            fh = self._open.pop(name)
            fh.close()  # flushes into the OS (CPython) or commits (MicroPython VFS)

    def read(self, name: str) -> bytes | None:
        """Return the content of name (unsynced appends included), or None if absent."""
        path = self._path(name)
        self._settle(name)
        try:
            fh = self._open.get(name)
            if fh is not None:
                fh.flush()
            if not _exists(path):
                return None
            with open(path, "rb") as f:
                return f.read()
        except OSError as e:
            raise StorageError("storage: cannot read %s: %s" % (name, e))

    def append(self, name: str, data: bytes | bytearray | memoryview) -> None:
        """Add data at the end of name (created if absent); durable after sync()."""
        path = self._path(name)
        self._settle(name)
        self.writes += 1
        self.bytes_written += len(data)
        try:
            fh = self._open.get(name)
            if fh is None:
                self._close_handle()
                if not self._names_changed and not _exists(path):
                    self._names_changed = True  # a new name
                fh = open(path, "ab")
                self._open[name] = fh
            n = fh.write(data)
        except OSError as e:
            raise StorageError("storage: cannot append to %s: %s" % (name, e))
        if n is not None and n != len(data):
            raise StorageError(
                "storage: short append to %s (%d of %d bytes)" % (name, n, len(data))
            )
        if name not in self._dirty:
            self._dirty.append(name)

    def sync(self) -> None:
        """Barrier: appends and removals made so far survive a power cut once this returns."""
        self.syncs += 1
        self._commit()

    def _commit(self) -> None:
        try:
            for name in self._open:
                fh = self._open[name]
                fh.flush()  # the commit on MicroPython; into the page cache on CPython
                if _fsync is not None:
                    _fsync(fh.fileno())
            if self._dirty:
                if _fsync is not None:
                    for name in self._dirty:
                        if name not in self._open and _exists(self.root + "/" + name):
                            _fsync_path(self.root + "/" + name)
                    if self._names_changed:
                        _fsync_path(self.root)  # removals and new names live in the directory
                elif _os_sync is not None:
                    _os_sync()
                self._dirty = []
                self._names_changed = False
        except OSError as e:
            raise StorageError("storage: sync failed: %s" % (e,))

    def write(self, name: str, data: bytes | bytearray | memoryview) -> None:
        """Replace name with data, atomically and durably (also a barrier for appends)."""
        path = self._path(name)
        self._settle(name)
        self.writes += 1
        self.bytes_written += len(data)
        self.syncs += 1
        tmp = path + _TMP
        try:
            self._commit()
            if name in self._open:
                self._close_handle()
            # 1. the new content, complete and synced, under the temporary name
            with open(tmp, "wb") as f:
                n = f.write(data)
                f.flush()
                if _fsync is not None:
                    _fsync(f.fileno())
            if n is not None and n != len(data):
                raise StorageError("storage: short write to %s (%d of %d)" % (name, n, len(data)))
            # 2. one rename puts it in place (POSIX and LittleFS replace atomically)
            try:
                os.rename(tmp, path)
            except OSError:
                if not _exists(path):
                    raise
                # FAT refuses to rename over an existing file: park the old content first.
                # A cut between these steps is finished by _settle() on the next use.
                os.rename(path, path + _BAK)
                os.rename(tmp, path)
                os.remove(path + _BAK)
            if _fsync is not None:
                _fsync_path(self.root)
            elif _os_sync is not None:
                _os_sync()
        except OSError as e:
            raise StorageError("storage: cannot write %s: %s" % (name, e))

    def remove(self, name: str) -> None:
        """Delete name if present; durable after sync()."""
        path = self._path(name)
        self._settle(name)
        try:
            if name in self._open:
                self._close_handle()
            if _exists(path):
                os.remove(path)
        except OSError as e:
            raise StorageError("storage: cannot remove %s: %s" % (name, e))
        self._names_changed = True
        if name not in self._dirty:
            self._dirty.append(name)

    def close(self) -> None:
        """Close the open append handle (its data is committed on MicroPython, not synced)."""
        try:
            self._close_handle()
        except OSError as e:
            raise StorageError("storage: close failed: %s" % (e,))

    def wipe(self) -> None:
        """Remove every file under root and root itself (factory reset, tests)."""
        try:
            self._close_handle()
            for entry in os.listdir(self.root):
                os.remove(self.root + "/" + entry)
            os.rmdir(self.root)
        except OSError as e:
            raise StorageError("storage: cannot wipe %s: %s" % (self.root, e))
        self._dirty = []
        self._names_changed = False
        self._settled = []


def _makedirs(path: str) -> None:
    # os.makedirs is CPython only: create each missing component in turn.
    if _exists(path):
        return
    parts = path.split("/")
    cur = ""
    for part in parts:
        if not part:
            continue
        cur = cur + "/" + part if (cur or path[0] == "/") else part
        if not _exists(cur):
            os.mkdir(cur)


def _fsync_path(path: str) -> None:
    # CPython only (called when os.fsync exists): fsync a file or directory by path.
    fd = os.open(path, os.O_RDONLY)  # type: ignore[attr-defined,unused-ignore]
    try:
        _fsync(fd)  # type: ignore[misc]
    finally:
        os.close(fd)  # type: ignore[attr-defined,unused-ignore]
