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
    # the Cases page
    "cases": "Cases",
    "case_search": "Find recording",
    "from": "From",
    "to": "To",
    "search_button": "Search",
    "verdict": "Verdict",
    "segments": "Segments",
    "holes": "Holes",
    "seq": "Seq",
    "start": "Start",
    "end": "End",
    "segment_state": "State",
    "reason": "Reason",
    "hole_status": "Status",
    "no_segments": "The archive holds no recording of this camera in this range.",
    "case_id": "Case id",
    "export": "Export",
    "export_start": "Export this range",
    "export_queued": "waiting",
    "export_running": "exporting",
    "export_done": "done",
    "export_failed": "failed",
    "progress": "Progress",
    "download": "Download package (.tar)",
    "read_only": "Your role may search but not export or send commands.",
    "commands": "Commands to the gateway (signed)",
    "hold": "Legal hold",
    "release": "Release hold",
    "hold_id": "Hold id",
    "upload_priority": "Upload first",
    "command_ok": "The gateway carried it out.",
    "command_failed": "The gateway did not carry it out",
    "back_to_cases": "Back to Cases",
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
    # 案件页
    "cases": "案件",
    "case_search": "查找录像",
    "from": "开始",
    "to": "结束",
    "search_button": "查找",
    "verdict": "结论",
    "segments": "片段",
    "holes": "空缺",
    "seq": "序号",
    "start": "开始",
    "end": "结束",
    "segment_state": "状态",
    "reason": "原因",
    "hole_status": "说明",
    "no_segments": "档案中没有该摄像机在此时段的录像。",
    "case_id": "案件编号",
    "export": "导出",
    "export_start": "导出此时段",
    "export_queued": "等待中",
    "export_running": "导出中",
    "export_done": "完成",
    "export_failed": "失败",
    "progress": "进度",
    "download": "下载证据包（.tar）",
    "read_only": "您的角色可以查找，但不能导出或发送命令。",
    "commands": "向网关发送命令（已签名）",
    "hold": "证据保全",
    "release": "解除保全",
    "hold_id": "保全编号",
    "upload_priority": "优先上传",
    "command_ok": "网关已执行。",
    "command_failed": "网关未执行",
    "back_to_cases": "返回案件页",
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
