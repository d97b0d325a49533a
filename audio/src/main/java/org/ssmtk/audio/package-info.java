/**
 * Audio on ssmtk: WAV input and output ({@code io}, resampling through TarsosDSP), 8-bit mu-law and
 * linear quantization ({@code quantize}), clip windows and held-out scoring for waveform language
 * models ({@code sample}), streamed per-sample scoring ({@code score}), MFCCs and spectrograms
 * ({@code features}) and the n-gram and MFCC baselines ({@code baseline}), used by {@code ssmtk audio}.
 */
package org.ssmtk.audio;
