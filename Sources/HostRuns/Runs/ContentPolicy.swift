import Foundation
import HostBase
import HostDocker

/// The recipe content policy as a run applies it: before anything is deployed, every checkout the
/// run may deploy (the base, then the head) is read the way the deployer reads it, and whatever the
/// policy refuses stops every deploy (a RED run, each finding with file:line); what the operator's
/// allowance lets through is recorded and shown in every report. More tasks than the run's
/// `ceilings.tasks` is refused whatever is allowed.
struct ContentPolicy {
    /// Each refused finding, `message (compose.yml:12)`; empty when the run may deploy.
    var refused: [String] = []
    /// Each allowed finding, `docker_socket: message (compose.yml:12)`.
    var allowed: [String] = []

    init(checkouts: [Checkout], app: AppDeployment, deployer: any Deployer, allowance: PolicyAllowance, maxTasks: Int) {
        for checkout in checkouts {
            var app = app
            app.checkout = checkout
            let recipe: Recipe
            do { recipe = try deployer.recipe(of: app) } catch {
                refused.appendNew(["\(checkout.ref) could not be read to check it: \(error.description)"])
                continue
            }
            let composeFile = recipe.envSample.location(of: "COMPOSE_FILE", ifItIs: recipe.environment["COMPOSE_FILE"])
            let findings = RecipePolicy.evaluate(recipe.compose, checkout: checkout.directory, maxReplicas: allowance.maxReplicas,
                                                 maxTasks: maxTasks, composeFileSetting: composeFile)
            let decision = RecipePolicy.decide(findings, allowance: allowance)
            refused.appendNew(decision.refused.map { $0.line(relativeTo: checkout.directory) })
            allowed.appendNew(decision.allowed.map { "\($0.option?.rawValue ?? "?"): \($0.line(relativeTo: checkout.directory))" })
        }
    }

    /// The install's detail when the policy refuses the recipe.
    var refusal: String? {
        refused.isEmpty ? nil : "the recipe content policy refuses to deploy it: " + refused.joined(separator: "; ")
    }
}
