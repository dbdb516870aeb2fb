package workflows

import "fmt"

// Every workflow.GetVersion change ID, in the order they shipped, with the
// recorded histories (testdata/, replayed by TestReplayRecordedHistories)
// that hold each path. A change that alters the commands a workflow emits
// gets an ID here and a history of its new shape (harness/record-histories);
// one recorded before the change keeps the old path replaying.
const (
	// nonBlockingReminder took RemindFinance off the decision path. Before
	// it, a decision that arrived while a reminder was being delivered
	// waited for it (up to Genesys' retry hour).
	//   version 1:      decision_during_slow_reminder.json (and every review
	//                   recorded since)
	//   DefaultVersion: reminded_refused_duplicate_then_reject.json
	nonBlockingReminder = "non-blocking-reminder"

	// closeReviewWorkitem closes a review's workitem when the review ends.
	// Before it, the workitem stayed open in the finance queue after the
	// decision. Asked only when there is a workitem.
	//   version 1:      approved_workitem_closed.json,
	//                   rejected_workitem_closed.json,
	//                   resolved_workitem_close_refused.json,
	//                   decision_during_slow_reminder_workitem_closed.json
	//   DefaultVersion: rejected_then_approved.json, review_rejected.json
	closeReviewWorkitem = "close-workitem"

	// continueAsNewReview lets a long review go on in a new run (see
	// reviewOutgrown). It is asked only when a run would continue, so a
	// workflow already in flight when it shipped continues too when it
	// first meets the limit afterwards. One whose history had already met
	// it answers DefaultVersion, and the SDK keeps that answer for the rest
	// of the run; such a run asks again under lateContinueCheck(n).
	//   version 1:      review_continued_as_new_then_approved.json, whose
	//                   next run is ...then_approved.run2.json
	//   DefaultVersion: review_past_continue_threshold_before_continue_as_new.json
	continueAsNewReview = "continue-as-new-review"

	// gatewaySettlement waits for the gateway's final word on a refund it
	// took as pending (AwaitingGateway), by webhook or poll. Before it, a
	// refund the gateway took was Completed whatever it said. Asked only
	// when the gateway answered pending.
	//   version 1:      pending_then_succeeded_by_webhook.json,
	//                   pending_then_succeeded_by_poll.json,
	//                   pending_then_failed_then_approved.json
	//   DefaultVersion: every history above (none asks it)
	gatewaySettlement = "gateway-settlement"

	// settleBesidePendingWrite starts the wait for the gateway (its
	// timers) while the Refund_Pending write to Genesys is in flight,
	// instead of after it: on the paced Genesys queue that write may wait
	// its turn for a minute. The outcome is still written after it. Asked
	// only when the gateway answered pending.
	//   version 1:      pending_settled_beside_pending_write.json
	//   DefaultVersion: pending_then_succeeded_by_webhook.json,
	//                   pending_then_succeeded_by_poll.json,
	//                   pending_then_failed_then_approved.json
	settleBesidePendingWrite = "settle-beside-pending-write"
)

// Not a change ID: the reopen (a failure or reversal after Completed) is a
// new input shape, not a new path of an old one. The starter starts a new
// run with ContinuedReview.Reopened set (starter/reopen.go), which no run
// before it was ever given, so it needs no GetVersion; its history is
//
//	reversal_after_completed.json (reopened, reviewed, rejected)

// Not a change ID either: the Genesys activities moved to the paced queue
// <task queue>-genesys (pacing.go). A command's task queue is not part of
// what replay compares, so no GetVersion is needed, and none is asked: it
// would add a TemporalChangeVersion upsert, a billable action, to every
// remediation. Its history, every Genesys activity on the paced queue, is
//
//	paced_genesys_rejected_workitem_closed.json
//
// and every history recorded before it (all on the workflow's queue)
// replays with it.

// Not a change ID: GenesysWorkitemDecision (workitemdecision.go) is a
// workflow type of its own, new with decisions made in Genesys. Its
// history, and that of the remediation it decided, are
//
//	approved_in_genesys.workitem_decision.json, approved_in_genesys.json
//
// and a change to its commands needs a GetVersion as RemediationWorkflow's
// do: reviews wait for weeks, and so may a decision's read behind a burst.

// lateContinueCheck is the change ID of the n-th continue-as-new check after
// continueAsNewReview answered DefaultVersion. Old histories never asked any
// of them, so each replays as DefaultVersion; a live one records version 1
// (a marker event) and continues. A run meets it at most once live.
//
//	DefaultVersion: review_past_continue_threshold_before_continue_as_new.json
func lateContinueCheck(n int) string {
	return fmt.Sprintf("%s/%d", continueAsNewReview, n)
}
