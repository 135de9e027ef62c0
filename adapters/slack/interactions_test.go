package slack

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/slack-go/slack"

	"kimibot/adapters/slack/slacktest"
	"kimibot/conversation"
)

// TestEmptyEditStaysInTheModal submits an edit whose text is only blanks,
// which Slack's required check lets through: the modal shows an error and
// nothing is decided.
func TestEmptyEditStaysInTheModal(t *testing.T) {
	eng := newFakeEngine(rita)
	eng.addDraft(conversation.Draft{ID: "d1", State: conversation.DraftPending, Text: "draft"})
	fake := slacktest.Start(t, slacktest.Options{})
	a, base := MustHTTP(t, fake, eng.host())
	ctx := testContext(t)
	payload := []byte(`{"type":"view_submission","user":{"id":"` + rita + `"},"view":{"id":"V1","hash":"h1",` +
		`"callback_id":"kimi_edit","private_metadata":"d1","state":{"values":{"kimi_text_0":{"kimi_text_input":` +
		`{"type":"plain_text_input","value":"   "}}}}}}`)
	ack, err := slacktest.PostInteraction(ctx, base+"/slack/interactions", testSecret, payload)
	if err != nil || ack.Status != http.StatusOK {
		t.Fatalf("ack = %d, %v", ack.Status, err)
	}
	var resp slack.ViewSubmissionResponse
	if err := json.Unmarshal(ack.Body, &resp); err != nil || resp.ResponseAction != slack.RAErrors ||
		resp.Errors["kimi_text_0"] != emptyEditText {
		t.Fatalf("ack body = %s", ack.Body)
	}
	a.tasks.Wait()
	eng.mu.Lock()
	defer eng.mu.Unlock()
	if len(eng.actions) != 0 {
		t.Fatalf("an empty edit was decided: %+v", eng.actions)
	}
}
