package locales

import (
	"fmt"
	"time"
)

var (
	weekdaysZhHK = [...]string{"星期日", "星期一", "星期二", "星期三", "星期四", "星期五", "星期六"}
	weekdaysZhCN = weekdaysZhHK // the same characters in Simplified Chinese
)

// FormatDate formats a calendar day with its weekday: zh-HK and zh-CN
// "2026年11月28日（星期六）", en "Sat 28 Nov 2026". t is shown in its own
// location; callers convert to Hong Kong time first.
func FormatDate(lang string, t time.Time) string {
	switch lang {
	case En:
		return t.Format("Mon 2 Jan 2006")
	case ZhCN:
		return fmt.Sprintf("%d年%d月%d日（%s）", t.Year(), int(t.Month()), t.Day(), weekdaysZhCN[t.Weekday()])
	default:
		return fmt.Sprintf("%d年%d月%d日（%s）", t.Year(), int(t.Month()), t.Day(), weekdaysZhHK[t.Weekday()])
	}
}

// FormatTime formats a time of day on a 12-hour clock: zh-HK and zh-CN
// "上午9:15" / "下午2:30", en "9:15 am" / "2:30 pm".
func FormatTime(lang string, t time.Time) string {
	h := t.Hour() % 12
	if h == 0 {
		h = 12
	}
	if lang == En {
		half := "am"
		if t.Hour() >= 12 {
			half = "pm"
		}
		return fmt.Sprintf("%d:%02d %s", h, t.Minute(), half)
	}
	half := "上午"
	if t.Hour() >= 12 {
		half = "下午"
	}
	return fmt.Sprintf("%s%d:%02d", half, h, t.Minute())
}

// FormatDateTime formats a moment as a day and a time of day: zh-HK
// "2026年11月28日（星期六）上午9:15", en "Sat 28 Nov 2026, 9:15 am".
func FormatDateTime(lang string, t time.Time) string {
	if lang == En {
		return FormatDate(lang, t) + ", " + FormatTime(lang, t)
	}
	return FormatDate(lang, t) + FormatTime(lang, t)
}

// FormatPeriod formats a consultation period of one day: zh-HK
// "2026年11月28日（星期六）上午9:15至上午9:30", en "Sat 28 Nov 2026, 9:15 am to 9:30 am".
func FormatPeriod(lang string, start, end time.Time) string {
	switch lang {
	case En:
		return FormatDateTime(lang, start) + " to " + FormatTime(lang, end)
	default:
		return FormatDateTime(lang, start) + "至" + FormatTime(lang, end)
	}
}

// FormatBirthDate formats a date of birth unambiguously, the month never
// written as a bare number in English: zh-HK and zh-CN "1970年1月1日",
// en "1 January 1970".
func FormatBirthDate(lang string, year int, month time.Month, day int) string {
	if lang == En {
		return fmt.Sprintf("%d %s %d", day, month.String(), year)
	}
	return fmt.Sprintf("%d年%d月%d日", year, int(month), day)
}

// FormatIdle formats a stretch of time, rounded down to the minute, as a
// booker reads it: zh-HK "15分鐘" / "1小時30分鐘", zh-CN "15分钟",
// en "15 minutes" / "1 hour 30 minutes".
func FormatIdle(lang string, d time.Duration) string {
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	unit := func(n int, one, many string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %s", n, many)
	}
	var zhHour, zhMin string
	switch lang {
	case En:
		switch {
		case h == 0:
			return unit(m, "minute", "minutes")
		case m == 0:
			return unit(h, "hour", "hours")
		}
		return unit(h, "hour", "hours") + " " + unit(m, "minute", "minutes")
	case ZhCN:
		zhHour, zhMin = "小时", "分钟"
	default:
		zhHour, zhMin = "小時", "分鐘"
	}
	switch {
	case h == 0:
		return fmt.Sprintf("%d%s", m, zhMin)
	case m == 0:
		return fmt.Sprintf("%d%s", h, zhHour)
	}
	return fmt.Sprintf("%d%s%d%s", h, zhHour, m, zhMin)
}
