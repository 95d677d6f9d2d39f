"""The long-running process (`evgw run`): cameras recorded in supervised processes.

`lifecycle` (start, stop), `service` (`run`: signals, `reload`, `readiness`), the camera
process's parent side (`camera_process`), the server it is forked from (`camera_forkserver`)
and its child side (`camera_child`, `camera_worker`, `resolver`, `directory`), `supervisor`
(restarts, kills the hung), `liveness` (the pure hang rules) and `progress` (the one tracker
they judge), the systemd `watchdog` and `sdnotify`, `retention` (the ring buffer's executor),
`reporting`, `alarms`, `facts` and `events` (health to central monitoring), `commands` (from
central), auto-enrolment of cameras found but not configured (`auto_enroll` runs it,
`enrollment` holds its rules, `enrolled_store` remembers what it enrolled).
"""
