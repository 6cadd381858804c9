"""Vision models: normalisation layers, classic CNNs, focal loss, detection, metric learning, style transfer.

    from seqlab.vision import VisionConfig, train_vision, load_model
    summary = train_vision(VisionConfig(model="lenet5"), "runs/lenet", torch.device("cpu"))
    model, cfg = load_model("runs/lenet", device="auto")

Detection (YOLOv2-style, on synthetic scenes of coloured shapes): make_shapes -> assign_targets ->
TinyYolo + yolo_loss -> decode (score threshold and per-class NMS, from boxes). Names load on first use.
"""

from seqlab.lazy import lazy_exports

__all__, __getattr__, __dir__ = lazy_exports(__name__, {
    "norm": ["BatchNorm1d", "BatchNorm2d", "InstanceNorm1d", "InstanceNorm2d"],
    "architectures": ["AlexNet", "GoogLeNet", "LeNet5", "ResNet", "VGG", "build_model", "resnet18", "resnet34",
                      "resnet50", "vgg", "vgg16"],
    "data": ["Digits", "load_digits_splits"],
    "images": ["load_image", "sample_image", "save_image"],
    "train": ["VisionConfig", "VisionTrainer", "load_model", "train_vision"],
    "losses": ["FocalLoss", "binary_focal_loss", "focal_loss"],
    "boxes": ["anchor_boxes", "batched_nms", "box_area", "box_convert", "box_iou", "detect", "elementwise_iou",
              "kmeans_anchors", "nms", "shape_iou"],
    "yolo": ["Detections", "TinyYolo", "YoloConfig", "YoloTargets", "assign_targets", "decode", "decode_boxes",
             "split_output", "yolo_loss"],
    "shapes": ["Scenes", "make_shapes"],
    "metric": ["batch_hard_triplets", "contrastive_loss", "mined_triplet_loss", "pairwise_distances",
               "semi_hard_triplets", "triplet_loss"],
    "siamese": ["Encoder", "OneShotConfig", "SiameseNetwork", "best_threshold", "train_siamese"],
    "style": ["FeatureExtractor", "RandomMultiScaleCNN", "StyleConfig", "StyleResult", "VGGFeatures", "content_loss",
              "gram_matrix", "make_extractor", "style_layer_loss", "style_loss", "style_transfer"],
})
