"""The desk's words in English and Chinese, chosen by the browser's Accept-Language.

One dictionary per language, same keys (a test holds them equal). Names that come from the
fleet (gateways, cameras, sites) are never translated: they are shown as the gateway sent them.
"""

from __future__ import annotations

EN = {
    "title": "evgw monitoring desk",
    "fleet": "Fleet",
    "alarms": "Alarms",
    "audit": "Audit",
    "logout": "Log out",
    "login": "Log in",
    "name": "Name",
    "password": "Password",
    "login_failed": "Wrong name or password.",
    "rate_limited": "Too many failed logins from your address. Wait {seconds} s, then try again.",
    "gateway": "Gateway",
    "site": "Site",
    "state": "State",
    "last_seen": "Last seen",
    "cameras": "Cameras",
    "camera": "Camera",
    "backlog": "Upload backlog",
    "oldest": "Oldest unconfirmed",
    "minutes_left": "Minutes left",
    "clock": "Clock",
    "active_alarms": "Active alarms",
    "search": "Search gateway or site",
    "online": "online",
    "offline": "offline",
    "stale": "stale",
    "synced": "synced",
    "unsynced": "not synced",
    "recording": "Recording",
    "yes": "yes",
    "no": "no",
    "fps": "fps",
    "bitrate": "Bitrate (kbit/s)",
    "frame_age": "Last frame",
    "last_error": "Last error",
    "alarm": "Alarm",
    "since": "Since",
    "detail": "Detail",
    "raised": "Raised",
    "cleared": "Cleared",
    "acked_by": "Acknowledged by",
    "acked_at": "Acknowledged",
    "comment": "Comment",
    "ack": "Acknowledge",
    "history": "History",
    "none": "none",
    "plots": "Last 24 hours",
    "plot_backlog": "Upload backlog (segments)",
    "plot_minutes": "Minutes of recording left",
    "plot_disk": "Free disk (GB)",
    "no_samples": "no samples yet",
    "at": "When",
    "user": "User",
    "action": "Action",
    "target": "Target",
    "address": "Address",
    "live": "live",
    "forbidden": "Forbidden",
    "not_found": "Not found",
    # the camera page
    "timeline": "Recording timeline, last {hours} h",
    "hours": "Hours",
    "window_end": "Ending at (UTC)",
    "show": "Show",
    "gaps": "Gaps in the recording",
    "gap_start": "From",
    "gap_end": "To",
    "duration": "Duration",
    "reason": "Reason",
    "active": "active",
    "events": "Events",
    "event": "Event",
    "gap_declared": "declared gap",
    "no_records": "no records in the archive",
    "state_confirmed": "confirmed",
    "state_waiting": "on the gateway only",
    "state_held": "held",
    "state_evicted": "evicted from the gateway",
    "state_purged": "purged before upload",
    "state_missing": "missing",
    "state_mismatch": "altered",
    "reason_undeclared": "undeclared",
    "reason_camera_offline": "camera offline",
    "reason_camera_drift": "camera clock drift",
    "reason_startup": "starting up",
    "reason_operator_stop": "stopped by operator",
    "reason_power_loss": "power loss",
    "reason_boot": "gateway down",
}

ZH = {
    "title": "evgw 监控中心",
    "fleet": "设备总览",
    "alarms": "告警",
    "audit": "审计日志",
    "logout": "退出登录",
    "login": "登录",
    "name": "用户名",
    "password": "密码",
    "login_failed": "用户名或密码错误。",
    "rate_limited": "来自您地址的登录失败次数过多。请等待 {seconds} 秒后再试。",
    "gateway": "网关",
    "site": "站点",
    "state": "状态",
    "last_seen": "最后上报",
    "cameras": "摄像机",
    "camera": "摄像机",
    "backlog": "待上传",
    "oldest": "最早未确认",
    "minutes_left": "剩余录像分钟",
    "clock": "时钟",
    "active_alarms": "当前告警",
    "search": "搜索网关或站点",
    "online": "在线",
    "offline": "离线",
    "stale": "无上报",
    "synced": "已同步",
    "unsynced": "未同步",
    "recording": "录像中",
    "yes": "是",
    "no": "否",
    "fps": "帧率",
    "bitrate": "码率（kbit/s）",
    "frame_age": "最近一帧",
    "last_error": "最近错误",
    "alarm": "告警",
    "since": "开始时间",
    "detail": "详情",
    "raised": "产生",
    "cleared": "消除",
    "acked_by": "确认人",
    "acked_at": "确认时间",
    "comment": "备注",
    "ack": "确认",
    "history": "历史",
    "none": "无",
    "plots": "最近 24 小时",
    "plot_backlog": "待上传（片段）",
    "plot_minutes": "剩余录像分钟",
    "plot_disk": "磁盘剩余（GB）",
    "no_samples": "暂无数据",
    "at": "时间",
    "user": "用户",
    "action": "操作",
    "target": "对象",
    "address": "地址",
    "live": "实时",
    "forbidden": "无权访问",
    "not_found": "未找到",
    "timeline": "录像时间线（最近 {hours} 小时）",
    "hours": "小时数",
    "window_end": "截止时间（UTC）",
    "show": "显示",
    "gaps": "录像缺口",
    "gap_start": "开始",
    "gap_end": "结束",
    "duration": "时长",
    "reason": "原因",
    "active": "未消除",
    "events": "事件",
    "event": "事件",
    "gap_declared": "已声明缺口",
    "no_records": "归档中无记录",
    "state_confirmed": "已确认",
    "state_waiting": "仅在网关",
    "state_held": "保全中",
    "state_evicted": "已从网关清除",
    "state_purged": "上传前被清除",
    "state_missing": "缺失",
    "state_mismatch": "被篡改",
    "reason_undeclared": "未声明",
    "reason_camera_offline": "摄像机离线",
    "reason_camera_drift": "摄像机时钟漂移",
    "reason_startup": "启动中",
    "reason_operator_stop": "人工停止",
    "reason_power_loss": "断电",
    "reason_boot": "网关停机",
}

LANGUAGES = {"en": EN, "zh": ZH}


def language(accept_language: str | None) -> str:
    """Chinese ("zh") when the browser prefers it over English, else "en" (RFC 9110 q-values)."""
    best, best_q = "en", -1.0
    for item in (accept_language or "")[:512].split(","):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in LANGUAGES:
            continue
        q = _quality(params)
        if q > best_q:
            best, best_q = primary, q
    return best if best_q > 0 else "en"


def _quality(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key.strip() == "q":
            try:
                return min(1.0, max(0.0, float(value)))
            except ValueError:
                return 0.0
    return 1.0


def labels(accept_language: str | None) -> dict[str, str]:
    return LANGUAGES[language(accept_language)]
