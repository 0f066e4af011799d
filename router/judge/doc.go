// Package judge is the routing judge: for the prompts the embeddings are
// unsure of, a model is asked to choose among the best few intents, or
// none. On the data path it sits after the decision (router) and before
// the target: the gateway calls it only when a decision's score is under
// routing.judge.below or the prompt would fall back, so the decision's hot
// path is unchanged.
//
// The model is reached through Completer, the one call the judge makes:
// the gateway adapts its upstream pool to it (budgets and the spend
// ledger apply), and the eval harness can drive it with its own caller.
// The user's text goes into the prompt as data: a JSON string between
// markers it cannot contain. The answer counts only when it is the JSON
// object {"intent": NAME} naming one of the offered intents, or
// {"intent": null}; anything else, a timeout or an error leaves the
// embedding decision standing. Answers are cached, exactly and by
// embedding, under a version of the intent set, so a change of intents
// invalidates them.
package judge
