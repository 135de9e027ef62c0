// Package bot is kimibot's platform-neutral core: events come in from
// platform adapters, answers and review cards go out, and no Slack,
// Discord or provider type crosses in.
//
// The package is split by responsibility:
//
//   - Engine (engine.go, process.go) takes events from platforms
//     (Handler), drops duplicates, decides whether the bot follows a
//     thread, and answers slash commands (Commands; commands.go, read from
//     the command table in commandtable.go that the adapters also read).
//   - The inbox (durable.go) stores every accepted event, with its dedupe
//     keys, before the platform is acknowledged, and removes it once
//     handled; after a restart it finishes replies a crash left
//     half-written (Interrupter) and replays what was not handled, giving
//     up with a notice after a second interruption.
//   - The dispatcher (dispatch.go) runs one worker goroutine per active
//     thread: events of a thread are handled in order, threads in
//     parallel, and idle workers exit. On shutdown it stops taking work
//     and lets running turns finish within the grace period.
//   - A turn (turn.go, request.go, toolcalls.go) is one user message and
//     everything the model does until it answers: model steps, streaming
//     into a Reply, tool calls with validation, repeat detection and a step
//     cap. A turn ends with an outcome, an answer or a tool call paused for
//     approval, and hands it to its destination: direct (answer.go), the
//     user's own thread, or drafting (desk.go), a draft for reviewers. A
//     direct reply is recorded before its first platform message, and its
//     status tells when the model is queued or still working (waiting.go).
//   - What Kimi brings to a turn lives beside it: prepare and the last
//     call at the step cap (steps.go), thread and channel switches for
//     thinking and web search (settings.go), attached documents through the
//     provider's files API (documents.go), Moonshot's $web_search round
//     trip (websearch.go), summaries of the oldest turns when a thread
//     outgrows its budget (summary.go), and the price table (prices.go).
//   - The desk (desk.go, deskcards.go, decide.go, reminders.go,
//     deskcommands.go) is the support desk: it routes customer channels to
//     review channels, keeps drafts and paused tool calls, posts and redraws
//     review cards, applies decisions in the draft's thread worker (one
//     store transaction per state change, so a reply is sent exactly
//     once), reminds reviewers and, after a restart, finishes what was
//     being sent. Platforms reach it through the Desk interface.
//
// Platforms get a Host when the engine runs them: Events for inbound
// events, and Commands and Desk, passed explicitly, for slash commands and
// review cards. Optional platform capabilities (Cards, Poster, Linker,
// Downloader, GroupResolver, Readiness) are small interfaces the engine
// looks for.
package bot
