// Package archtest holds the tests that keep clinicbot's imports pointing
// inward: the domain and the conversation know no driver or chat SDK.
package archtest
