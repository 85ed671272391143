import SpillwayCore
import Testing

/// The FUSE union's decisions (docs/FUSE.md), alone: where new names go in each state, when a
/// file moves before a write, which errors the spill area rescues, which names listings hide,
/// and how libfuse's paths split.
@Suite struct UnionPolicyTests {
    @Test(arguments: [
        (SlotState.normal, true, false, BranchKind.main),
        (.normal, true, true, .main),
        (.normal, false, true, .spill),
        (.spilling, true, false, .spill),
        (.spilling, true, true, .spill),
        (.spilling, false, true, .spill),
        (.draining, true, false, .main),
        (.draining, true, true, .main),
        (.draining, false, true, .spill),
    ])
    func newNamesGoWhereTheStateSays(state: SlotState, parentOnMain: Bool, parentInSpill: Bool, expected: BranchKind) {
        #expect(UnionPolicy.branchForNewName(state: state, parentOnMain: parentOnMain, parentInSpill: parentInSpill) == expected)
    }

    @Test func onlyAMainDiskFileWrittenWhileSpillingMoves() {
        for state in SlotState.allCases {
            for branch in BranchKind.allCases {
                #expect(UnionPolicy.mustMoveBeforeWriting(state: state, branch: branch) == (state == .spilling && branch == .main))
            }
        }
    }

    @Test func quotaAndSpaceErrorsAreRescuedOthersAreNot() {
        #expect(UnionPolicy.isOutOfSpace(122))  // EDQUOT
        #expect(UnionPolicy.isOutOfSpace(28))  // ENOSPC
        for other: Int32 in [1, 2, 5, 13, 17, 21, 30] { #expect(!UnionPolicy.isOutOfSpace(other)) }
    }

    @Test(arguments: [
        (".spillway-move.fuse.1.2", true), (".spillway-intent.77.8", true), (".spillway-move.", true),
        (".spillway-mov", false), (".spillway", false), ("spillway-move.x", false), (".s", false), ("", false), ("a.txt", false),
        (".fuse_hidden0000002a00000003", true), (".fuse_hidden0000002A00000003", false), (".fuse_hidden0000002a0000000", false),
        (".fuse_hidden0000002a000000030", false), (".fuse_hiddenx", false), (".fuse_hidden", false), (".f", false),
    ])
    func listingsHideOnlyTheMoversTemporariesAndOpenUnlinkedFiles(name: String, hidden: Bool) {
        name.withCString { #expect(UnionPolicy.isHidden($0) == hidden) }
    }

    @Test func libfusePathsSplitIntoParentAndName() {
        let deep = UnionPath("/a/b/c")
        #expect(deep.relative == "a/b/c" && deep.parent == "a/b" && deep.name == "c")
        #expect(deep.ancestors == ["a", "a/b"])
        let top = UnionPath("/x")
        #expect(top.relative == "x" && top.parent == "" && top.name == "x" && top.ancestors.isEmpty)
        #expect(UnionPath("/").isRoot && UnionPath("/").relative.isEmpty)
        #expect(UnionPath("/a").appending("b") == UnionPath("/a/b"))
        #expect(UnionPath("/a/b").parentPath == UnionPath("/a"))
    }
}
