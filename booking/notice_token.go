package booking

import (
	"strconv"
	"time"
)

// labelNoticeToken derives the key of notice tokens from the booker key.
const labelNoticeToken = "clinicbot/booking/notice-token/v1"

// NoticeToken binds a notice's buttons to booking ref, the chat b that made
// it and until, when they expire (the appointment's start): 64 bits of a
// keyed hash, hex. A button carrying it needs no verification of the
// patient: only the dispatcher, which knows the key, could have sent it to
// that chat.
func (p *Protector) NoticeToken(ref Reference, b Booker, until time.Time) string {
	return keyedHash(derive(p.bookerKey, labelNoticeToken), string(ref), string(b.Channel), b.ID,
		strconv.FormatInt(until.Unix(), 10))[:16]
}
