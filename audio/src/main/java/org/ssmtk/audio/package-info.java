/**
 * Audio on ssmtk: WAV input through TarsosDSP, mu-law quantization, waveform language models and
 * clip classification ({@code ssmtk audio}). Being built under the audio issue; nothing here is usable yet.
 */
package org.ssmtk.audio;
