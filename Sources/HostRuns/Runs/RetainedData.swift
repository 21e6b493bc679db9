import Foundation
import HostDocker

/// Where canonicals' data is kept (HostState's `RetainedVolumes` conforms): a run asked to retain
/// its data keeps a copy of its volumes there, and a warm run starts from a copy of a canonical's.
public protocol RetainedData: Sendable {
    /// Stops `stack` and keeps a copy of each of its volumes, labelled with the recipe and run;
    /// returns the copies' names.
    func retain(stack: String, recipe: String, runID: String) throws(DeployError) -> [String]
    /// Creates `stack`'s volumes as copies of the canonical's (of `recipe`), before the stack's
    /// first deploy; returns the volumes created.
    func seed(stack: String, recipe: String, from canonical: RunRecord.CanonicalStart) throws(DeployError) -> [String]
    /// The Docker volume holding the canonical's copy of `volume` (the name in the recipe's compose
    /// file); nil when the canonical kept no such volume.
    func retainedVolume(of volume: String, recipe: String, in canonical: RunRecord.CanonicalStart) -> String?
}
