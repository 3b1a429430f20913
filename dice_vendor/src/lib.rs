//! Android-profile DICE: derive the Microdroid vendor node, handover and dice_chain.raw formats, chain verifier
